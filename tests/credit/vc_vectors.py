"""Where the W3C test vectors are: ``$JIASAO_VC_VECTORS``, or ``shared/vc-vectors`` beside the
repository or any folder above it (CI puts shared/ beside its clone)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def vectors_dir() -> Path:
    configured = os.environ.get("JIASAO_VC_VECTORS")
    candidates = [Path(configured)] if configured else []
    for parent in Path(__file__).resolve().parents:
        candidates.append(parent / "shared" / "vc-vectors")
    for candidate in candidates:
        if (candidate / "SOURCES.md").is_file():
            return candidate
    pytest.skip("W3C VC test vectors not found (set JIASAO_VC_VECTORS to shared/vc-vectors)")
