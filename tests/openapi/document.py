"""Write the gateway's merged OpenAPI document without starting anything: each service's own
document from its app (``services.<name>.app.create_app().openapi()``), merged by the
gateway's ``merge_documents`` exactly as the running gateway merges what the services serve.
For linters in CI:

    .venv/bin/python -m tests.openapi.document /tmp/openapi.json
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from gateway.openapi import merge_documents
from services.kit.settings import SERVICES


def merged_document() -> dict[str, Any]:
    docs = {
        name: importlib.import_module(f"services.{name}.app").create_app().openapi()
        for name in SERVICES
    }
    return merge_documents(docs)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.openapi.document OUT.json", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(json.dumps(merged_document(), ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
