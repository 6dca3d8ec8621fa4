"""Development secret files under ``<var>/secrets``: created once, private, never overwritten."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any


def write_once(path: Path, content: dict[str, Any]) -> Path:
    """Write ``content`` as JSON to ``path`` (mode 0600) unless the file already exists.

    The file is written to a private temp file and hard-linked into place, so concurrently
    starting processes neither overwrite each other's keys nor read a half-written file.
    """
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), 0o600)  # the umask can only narrow the mode; make it exact
            json.dump(content, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another process got there first: keep theirs
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return path
