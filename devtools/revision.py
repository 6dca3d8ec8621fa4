"""Autogenerate a service migration: ``python -m devtools.revision <service> "message"``.

Diffs the service's models against a scratch SQLite database upgraded to head, so nobody needs
a running database to write a migration. Review the result before committing it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from services.kit.migrate import alembic_config, upgrade


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    service, message = argv
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}"
        upgrade(service, url)
        command.revision(alembic_config(service, url), message=message, autogenerate=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
