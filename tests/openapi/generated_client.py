"""Generate a Python client from an OpenAPI document the way a partner would
(openapi-python-client, pinned in the dev extras) and import it."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

PACKAGE = "jiasao_partner_client"
# The generator's own progress lines; anything else it prints is a warning or an error.
_PROGRESS = ("Generating ",)


def generate(document: Path, out_dir: Path) -> tuple[int, str]:
    """Run the generator into ``out_dir/PACKAGE``; returns its exit status and output."""
    config = out_dir / "generator.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\n")
    bin_dir = Path(sys.executable).parent
    # Its post-generation hook runs ruff from PATH: the venv's, or it warns "ruff is not in PATH".
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(out_dir / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def warnings_in(output: str) -> list[str]:
    """Every line of the generator's output that is not a progress line."""
    return [
        line
        for line in (raw.strip() for raw in output.splitlines())
        if line and not line.startswith(_PROGRESS)
    ]


@contextmanager
def imported(out_dir: Path) -> Iterator[ModuleType]:
    """The generated package, importable only inside the block."""
    sys.path.insert(0, str(out_dir))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out_dir))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.{name}")
