"""Short form of ``make chaos``: a small chain workload while every process is killed in turn."""

from __future__ import annotations

from pathlib import Path

from devtools.chaos import run


def test_kills_of_every_process_lose_and_double_nothing(tmp_path: Path) -> None:
    tally, passed, lost, doubled, dead = run(60, tmp_path / "var", settle_s=60)
    assert set(tally.killed) >= {"registry", "training", "credit", "rating", "matching", "nats"}
    assert tally.operations == 60 * 4
    assert passed == 60
    assert (lost, doubled, dead) == (0, 0, 0)
