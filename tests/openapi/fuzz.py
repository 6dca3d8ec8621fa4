"""schemathesis (``--checks all``, seeded) against a running platform through the gateway, with
an admin bearer token (through the document's bearerAuth scheme), and the figures of its run:
requests sent (from its HAR record), 5xx answers, failed checks by kind and operation.

The CI run is tests/openapi/test_schemathesis.py. A long local run starts its own platform:

    .venv/bin/python -m tests.openapi.fuzz --max-examples 80 --seed 6   # >= 5,000 requests
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contracts.statistics import TOPIC_OWNERS
from devtools.run import Platform

SEED = 6
PROJECT_ROOT = Path(__file__).resolve().parents[2]
HOOKS = "tests.openapi.schemathesis_hooks"
TOKEN_ENV = "JIASAO_FUZZ_TOKEN"


@dataclass
class Figures:
    exit_code: int
    requests: int
    test_cases: int
    server_errors: list[str]
    #: "ST103 Undocumented status code" -> operations it failed on.
    failures: dict[str, list[str]]
    #: Errors of the run itself (an operation it could not test), by message.
    errors: list[str]
    statuses: Counter[int] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [
            f"requests: {self.requests}; test cases: {self.test_cases}; "
            f"5xx: {len(self.server_errors)}; failed checks: {len(self.failures)} kinds, "
            f"{sum(len(ops) for ops in self.failures.values())} operation failures; "
            f"errors: {len(self.errors)}; exit {self.exit_code}",
            "statuses: " + ", ".join(f"{s}: {n}" for s, n in sorted(self.statuses.items())),
        ]
        out += [f"5xx {line}" for line in self.server_errors]
        for kind, operations in sorted(self.failures.items()):
            out.append(f"{kind} ({len(operations)}):")
            out += [f"    {operation}" for operation in operations]
        out += [f"error: {error}" for error in self.errors]
        return out


#: The statuses schemathesis' positive_data_acceptance expects of a schema-valid request.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]

#: Operations whose schema-valid requests a rule no JSON Schema can state may still refuse,
#: with the documented status it answers, and the rule. Only these operations, and only these
#: statuses: any other schema-valid request refused is a failed check.
RULES_NO_SCHEMA_STATES: dict[str, tuple[tuple[int, ...], str]] = {
    "PATCH /api/v1/companies/{company_id}": ((412,), "If-Match must name the current version"),
    "PATCH /api/v1/institutions/{institution_id}": ((412,), "If-Match: the current version"),
    "PATCH /api/v1/workers/{worker_id}": (
        (412, 422),
        "If-Match: the current version; a check's valid_until after its date",
    ),
    "POST /api/v1/accounts": ((422,), "the password may not be the phone; party_id per role"),
    "POST /api/v1/auth/password": ((422,), "the new password may not be the phone"),
    "POST /api/v1/workers": ((422,), "gender and birth date must match the ID card"),
    "POST /api/v1/workers/{worker_id}/employment": ((422,), "the named company must exist"),
    "POST /api/v1/enrollments": ((422,), "staff name the worker; a worker enrols only self"),
    "POST /api/v1/enrollments/{enrollment_id}/attendance": (
        (422,),
        "the session is one of the enrolment's course",
    ),
    "POST /api/v1/enrollments/{enrollment_id}/exams": (
        (422,),
        "the course's rules have that exam part; its score within the rules' range",
    ),
    "POST /api/v1/imports/companies": ((400, 415), "a non-empty UTF-8 CSV or JSON Lines file"),
    "POST /api/v1/imports/institutions": ((400, 415), "a non-empty UTF-8 CSV or JSON Lines file"),
    "POST /api/v1/imports/workers": ((400, 415), "a non-empty UTF-8 CSV or JSON Lines file"),
    "POST /api/v1/agencies/{agency_id}/agreements": (
        (422,),
        "known datasets and their fields; valid_until after valid_from",
    ),
    "POST /api/v1/credit-files/{party_kind}/{party_id}/records": (
        (422,),
        "effective_until after effective_from",
    ),
    "POST /api/v1/credit-policies": ((422,), "a weight for every record kind, ordered levels"),
    "POST /api/v1/cards/policies": ((422,), "consistent periods of the card and its insurance"),
    "POST /api/v1/courses": ((422,), "capacity and the completion rules agree"),
    "POST /api/v1/courses/{course_id}/sessions": ((422,), "a venue, or online"),
    "POST /api/v1/competitions": ((422,), "rounds agree with the award policy"),
    "POST /api/v1/competitions/policy": ((422,), "winners per rank agree with the awards"),
    "POST /api/v1/competitions/{competition_id}/entries": ((422,), "staff name the worker"),
    "POST /api/v1/competitions/{competition_id}/scores": ((422,), "the round must exist"),
    "POST /api/v1/apprenticeships": ((422,), "staff name the company"),
    "POST /api/v1/training-bases/policy": ((422,), "targets and benefit periods agree"),
    "POST /api/v1/ventures": ((422,), "staff name the founder"),
    "POST /api/v1/ventures/{venture_id}/referrals": (
        (422,),
        "a referral to a training base names an existing base; any other names none",
    ),
    "POST /api/v1/brand/cases": ((422,), "a named worker must be registered"),
    "PUT /api/v1/brand/cases/{case_id}/photo": ((400, 415), "a non-empty JPEG or PNG file"),
    "PUT /api/v1/brand/top-companies/{year}": ((422,), "ranks 1 to 10 once each, no company twice"),
    "POST /api/v1/ventures/{venture_id}/contest-entries/{contest_year}/result": (
        (422,),
        "only a winner receives an award",
    ),
}
# Every statistics topic: a period whose ``from`` is after its ``to`` is refused (400).
RULES_NO_SCHEMA_STATES.update(
    {
        f"GET /api/v1/statistics/{topic}": ((400,), "the period's from is not after its to")
        for topic in TOPIC_OWNERS
    }
)


def config_text() -> str:
    # The token through the document's bearerAuth scheme, not a blanket header: checks that
    # leave authentication out (missing_required_header, ignored_auth) can then really leave it
    # out. The value comes from the environment, so it is in no file and no argument list.
    lines = ["[auth.openapi.bearerAuth]", f'bearer = "${{{TOKEN_ENV}}}"', ""]
    # A PATCH without If-Match is refused with 428 Precondition Required (RFC 6585 §3), the
    # status made for it, not the 400/422 the check assumes for a missing header.
    precondition = 'checks.missing_required_header.expected-statuses = ["428"]'
    for name, (statuses, _rule) in RULES_NO_SCHEMA_STATES.items():
        expected = ", ".join(f'"{status}"' for status in [*ACCEPTED, *map(str, statuses)])
        lines += [
            "[[operations]]",
            f'include-name = "{name}"',
            f"checks.positive_data_acceptance.expected-statuses = [{expected}]",
            *([precondition] if name.startswith("PATCH ") else []),
            "",
        ]
    lines += ["[[operations]]", 'include-method = "PATCH"', precondition, ""]
    return "\n".join(lines)


def command(
    platform: Platform, report_dir: Path, *, max_examples: int, seed: int = SEED
) -> list[str]:
    config = report_dir / "schemathesis.toml"
    config.write_text(config_text())
    return [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{platform.gateway_url}/openapi.json",
        "--checks",
        "all",
        "--seed",
        str(seed),
        "--max-examples",
        str(max_examples),
        # One worker: with a seed the same requests go out in the same order every run.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "json,har",
        "--report-json-path",
        str(report_dir / "report.json"),
        "--report-har-path",
        str(report_dir / "requests.har"),
        "--no-color",
    ]


def figures(exit_code: int, report_dir: Path) -> Figures:
    report: dict[str, Any] = json.loads((report_dir / "report.json").read_text())
    entries = json.loads((report_dir / "requests.har").read_text())["log"]["entries"]
    statuses = Counter(int(entry["response"]["status"]) for entry in entries)
    server_errors = [
        f"{entry['response']['status']} {entry['request']['method']} {entry['request']['url']}"
        for entry in entries
        if int(entry["response"]["status"]) >= 500
    ]
    return Figures(
        exit_code=exit_code,
        requests=len(entries),
        test_cases=int(report["test_cases"]["generated"]),
        server_errors=server_errors,
        failures={
            f"{failure['code']} {failure['title']}": list(failure["operations"])
            for failure in report["failures"]
        },
        errors=[json.dumps(error, ensure_ascii=False)[:500] for error in report["errors"]],
        statuses=statuses,
    )


def run(
    platform: Platform,
    bearer: str,
    work_dir: Path,
    *,
    max_examples: int,
    seed: int = SEED,
    timeout: float = 3600,
) -> tuple[Figures, str]:
    """Run schemathesis from ``work_dir`` (it keeps its example database in the working
    directory); returns the figures and its console output."""
    path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p)
    done = subprocess.run(
        command(platform, work_dir, max_examples=max_examples, seed=seed),
        cwd=work_dir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": path, TOKEN_ENV: bearer},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return figures(done.returncode, work_dir), done.stdout + done.stderr


def main(argv: list[str] | None = None) -> int:
    from tests.openapi.platform_api import start_platform, token

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=80)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--work-dir", type=Path, help="keep the reports here")
    args = parser.parse_args(argv)
    work_dir = args.work_dir or Path(tempfile.mkdtemp(prefix="schemathesis-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    platform = start_platform(work_dir / "var")
    try:
        result, output = run(
            platform,
            token(platform, "admin", ttl=4 * 3600),
            work_dir,
            max_examples=args.max_examples,
            seed=args.seed,
        )
    finally:
        platform.stop()
    (work_dir / "console.txt").write_text(output)
    print("\n".join(result.lines()))
    print(f"reports: {work_dir}")
    return 0 if result.exit_code == 0 and not result.server_errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
