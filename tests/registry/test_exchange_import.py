"""Bulk import: rows stored or reported with the API's own reasons; idempotent; both formats."""

from __future__ import annotations

from contracts.catalog import parse_data
from contracts.registry import WorkerRegistered
from services.kit.idnumbers import mask_id_card, mask_id_card_tail
from tests.registry.test_exchange_support import (
    COMPANY_COLUMNS,
    NDJSON,
    WORKER_COLUMNS,
    api_errors,
    company_row,
    counts,
    csv_bytes,
    imported,
    institution_object,
    jsonl_bytes,
    lookup,
    outbox_rows,
    report,
    worker_count,
    worker_row,
    wrong_check_char,
    wrong_check_digit,
)
from tests.registry.test_parties_support import (
    OFFICER,
    Registry,
    new_credit_code,
    new_id_card,
    worker_body,
)


async def test_valid_rows_are_stored_and_invalid_ones_reported_with_the_api_reasons(
    registry: Registry,
) -> None:
    full = worker_row(
        health_check_date="2025-03-01",
        health_check_institution="肇庆市第一人民医院",
        health_check_valid_until="2026-02-28",
        no_criminal_record_date="2025-02-01",
        no_criminal_record_result="clear",
        no_criminal_record_valid_until="2026-01-31",
    )
    plain = worker_row(languages="", tracks="", target_groups="", education="")
    bad_digit = worker_row(id_card_number=wrong_check_digit(new_id_card()))
    bad_phone = worker_row(phone="1380013")
    bad_county = worker_row(county="beijing")
    rows: list = [full, plain, bad_digit, bad_phone, bad_county]
    short = worker_row()
    rows.append([short["name"], short["id_card_number"]])  # the phone column is missing
    extra = worker_row()
    rows.append([*(extra.get(c, "") for c in WORKER_COLUMNS), "x"])  # one value too many
    before = await outbox_rows(registry)

    job = await imported(registry, "workers", csv_bytes(WORKER_COLUMNS, rows))

    assert job["status"] == "done", job
    assert counts(job) == {"total": 7, "created": 2, "invalid": 5}
    stored = await lookup(registry, full["id_card_number"])
    assert stored["name"] == full["name"]
    assert stored["languages"] == ["cantonese", "mandarin"]
    assert stored["tracks"] == ["housekeeping", "elderly_care"]
    assert stored["target_groups"] == ["4050"]
    assert stored["health_check"]["institution"] == "肇庆市第一人民医院"
    assert stored["no_criminal_record"]["result"] == "clear"
    assert stored["status"] == "registered"
    assert (await lookup(registry, plain["id_card_number"]))["tracks"] == []

    lines = await report(registry, job["id"])
    by_line = {(r["line"], r["field"]): r for r in lines}
    # The reasons are the API's own 422 messages for the same values.
    for line, row, field in (
        (4, bad_digit, "id_card_number"),
        (5, bad_phone, "phone"),
        (6, bad_county, "county"),
    ):
        body = worker_body(**{field: row[field]})
        expected = (await api_errors(registry, "/api/v1/workers", body))[field]
        entry = by_line[(line, field)]
        assert entry["reason"] == expected
        assert entry["outcome"] == "invalid"
        assert entry["key"] == mask_id_card(row["id_card_number"])
    assert "check digit is" in by_line[(4, "id_card_number")]["reason"]
    assert by_line[(7, "phone")]["reason"] == "Field required"
    assert "has 19 values but the header has 18 columns" in by_line[(8, None)]["reason"]
    # The report never holds a plaintext number.
    text = str(lines)
    for row in (bad_digit, bad_phone, bad_county):
        assert row["id_card_number"] not in text
        assert row["phone"] not in text

    # Each created worker published registry.worker.registered through the outbox.
    assert await outbox_rows(registry) == before + 2
    events = [parse_data(e) for e in await registry.events("registry.worker.registered")]
    assert all(isinstance(e, WorkerRegistered) for e in events)
    assert {e.id_card_masked for e in events} == {
        mask_id_card_tail(full["id_card_number"]),
        mask_id_card_tail(plain["id_card_number"]),
    }
    assert all(e.birth_date is None and e.birth_year for e in events)


async def test_importing_the_same_file_again_changes_nothing(registry: Registry) -> None:
    rows = [worker_row() for _ in range(5)] + [worker_row(phone="12")]
    body = csv_bytes(WORKER_COLUMNS, rows)
    first = await imported(registry, "workers", body)
    assert counts(first) == {"total": 6, "created": 5, "invalid": 1}
    events, workers = await outbox_rows(registry), await worker_count(registry)
    versions = [(await lookup(registry, r["id_card_number"]))["version"] for r in rows[:5]]

    again = await imported(registry, "workers", body)

    assert again["status"] == "done"
    assert counts(again) == {"total": 6, "unchanged": 5, "invalid": 1}
    assert await outbox_rows(registry) == events  # no new event
    assert await worker_count(registry) == workers
    assert [(await lookup(registry, r["id_card_number"]))["version"] for r in rows[:5]] == versions
    assert [r["outcome"] for r in await report(registry, again["id"])] == ["invalid"]


async def test_a_changed_row_is_a_conflict_and_the_record_is_left_alone(
    registry: Registry,
) -> None:
    row = worker_row()
    await imported(registry, "workers", csv_bytes(WORKER_COLUMNS, [row]))
    changed = {**row, "county": "sihui", "phone": "13900000001", "tracks": "maternal_infant"}
    # Leaving a value out is not a difference: only stated values are compared.
    sparse = {**row, "languages": "", "education": ""}

    job = await imported(registry, "workers", csv_bytes(WORKER_COLUMNS, [changed, sparse]))

    assert counts(job) == {"total": 2, "conflict": 1, "duplicate": 1}
    lines = await report(registry, job["id"])
    conflicts = [r for r in lines if r["outcome"] == "conflict"]
    assert {r["field"] for r in conflicts} == {"county", "phone", "tracks"}
    assert all(r["line"] == 2 and "leaves unchanged" in r["reason"] for r in conflicts)
    assert "13900000001" not in str(lines)
    stored = await lookup(registry, row["id_card_number"])
    assert stored["county"] == "duanzhou"
    assert stored["tracks"] == ["housekeeping", "elderly_care"]
    assert stored["version"] == 1

    job = await imported(registry, "workers", csv_bytes(WORKER_COLUMNS, [sparse]))
    assert counts(job) == {"total": 1, "unchanged": 1}


async def test_a_key_repeated_within_a_file_is_reported_as_a_duplicate(
    registry: Registry,
) -> None:
    first = worker_row()
    again = worker_row(id_card_number=first["id_card_number"], name="另一个名字")
    other = worker_row()
    job = await imported(registry, "workers", csv_bytes(WORKER_COLUMNS, [first, other, again]))

    assert counts(job) == {"total": 3, "created": 2, "duplicate": 1}
    [line] = await report(registry, job["id"])
    assert line["line"] == 4
    assert line["outcome"] == "duplicate"
    assert line["field"] == "id_card_number"
    assert "as line 2" in line["reason"]
    assert (await lookup(registry, first["id_card_number"]))["name"] == first["name"]


async def test_csv_with_bom_crlf_quotes_blank_lines_and_loose_header(registry: Registry) -> None:
    one, two = worker_row(name="陈, 秀英"), worker_row()
    header = ",".join(f" {c.upper()} " if c == "name" else c for c in WORKER_COLUMNS)
    lines = [header]
    for row in (one, two):
        lines.append(",".join(f'"{row.get(c, "")}"' for c in WORKER_COLUMNS))
        lines.append(",,,")  # spreadsheets add empty rows
        lines.append("")
    body = "\ufeff" + "\r\n".join(lines) + "\r\n"

    job = await imported(registry, "workers", body.encode(), "text/csv; charset=UTF-8")

    assert counts(job) == {"total": 2, "created": 2}
    assert (await lookup(registry, one["id_card_number"]))["name"] == "陈, 秀英"


async def test_json_lines_use_the_create_schema_and_report_field_paths(
    registry: Registry,
) -> None:
    good = worker_body(
        health_check={
            "date": "2025-03-01",
            "institution": "肇庆市第一人民医院",
            "valid_until": "2026-02-28",
        }
    )
    late = worker_body(
        health_check={"date": "2025-03-01", "institution": "医院", "valid_until": "2024-01-01"}
    )
    extra = worker_body(nickname="阿玲")
    body = (
        b"\xef\xbb\xbf"
        + jsonl_bytes([good, late])
        + b"\n{not json\n[1, 2]\n"
        + jsonl_bytes([extra, {**good, "name": "重复"}])
    )

    job = await imported(registry, "workers", body, "application/jsonl")

    assert counts(job) == {"total": 6, "created": 1, "invalid": 4, "duplicate": 1}
    lines = {r["line"]: r for r in await report(registry, job["id"])}
    expected = await api_errors(registry, "/api/v1/workers", late)
    assert lines[2]["field"] == "health_check.valid_until"
    assert lines[2]["reason"] == expected["health_check.valid_until"]
    assert lines[4]["reason"].startswith("is not valid JSON")
    assert lines[4]["key"] is None
    assert lines[5]["reason"] == "must be a JSON object"
    assert lines[6]["field"] == "nickname"
    assert lines[6]["reason"] == (await api_errors(registry, "/api/v1/workers", extra))["nickname"]
    assert lines[7]["outcome"] == "duplicate"
    stored = await lookup(registry, good["id_card_number"])
    assert stored["health_check"]["valid_until"] == "2026-02-28"


async def test_companies_from_csv_and_institutions_from_json_lines(registry: Registry) -> None:
    company = company_row()
    bad_code = company_row(credit_code=wrong_check_char(new_credit_code()))
    no_contact = company_row(contact_name="", contact_phone="")
    body = csv_bytes(COMPANY_COLUMNS, [company, bad_code, no_contact])

    job = await imported(registry, "companies", body)

    assert counts(job) == {"total": 3, "created": 1, "invalid": 2}
    lines = await report(registry, job["id"])
    assert {r["field"] for r in lines if r["line"] == 4} == {"contact_name", "contact_phone"}
    [reason] = [r for r in lines if r["line"] == 3]
    api = await api_errors(
        registry,
        "/api/v1/companies",
        {**_company_body(company), "credit_code": bad_code["credit_code"]},
    )
    assert reason["field"] == "credit_code"
    assert reason["reason"] == api["credit_code"]
    assert "check character" in reason["reason"]
    assert reason["key"] == bad_code["credit_code"]
    listed = await registry.get("/api/v1/companies", OFFICER)
    [stored] = [c for c in listed["items"] if c["credit_code"] == company["credit_code"]]
    assert stored["honours"] == ["全国家政服务业千户百强"]
    assert stored["contact"]["name"] == "黄丽"

    again = await imported(registry, "companies", csv_bytes(COMPANY_COLUMNS, [company]))
    assert counts(again) == {"total": 1, "unchanged": 1}

    institution = institution_object()
    job = await imported(registry, "institutions", jsonl_bytes([institution]), NDJSON)
    assert counts(job) == {"total": 1, "created": 1}
    events = await registry.events("registry.institution.registered")
    assert [e.data["credit_code"] for e in events] == [institution["credit_code"]]
    changed = {**institution, "level": "ordinary"}
    job = await imported(registry, "institutions", jsonl_bytes([changed]), NDJSON)
    assert counts(job) == {"total": 1, "conflict": 1}
    assert [r["field"] for r in await report(registry, job["id"])] == ["level"]


def _company_body(row: dict[str, str]) -> dict[str, object]:
    return {
        "credit_code": row["credit_code"],
        "name": row["name"],
        "legal_representative": row["legal_representative"],
        "county": row["county"],
        "address": row["address"],
        "contact": {"name": row["contact_name"], "phone": row["contact_phone"]},
        "kind": row["kind"],
    }


async def test_workers_join_the_company_named_by_its_credit_code(registry: Registry) -> None:
    company = await registry.company(kind="agency_based")
    code = company["credit_code"]
    employed = worker_row(company_credit_code=code)
    employee = worker_row(company_credit_code=code, employment_kind="employee_based")
    unknown = worker_row(company_credit_code=new_credit_code())
    kind_only = worker_row(employment_kind="employee_based")
    body = csv_bytes(WORKER_COLUMNS, [employed, employee, unknown, kind_only])

    job = await imported(registry, "workers", body)

    assert counts(job) == {"total": 4, "created": 2, "invalid": 2}
    first = await lookup(registry, employed["id_card_number"])
    assert first["company_id"] == company["id"]
    assert first["employment_kind"] == "agency_based"  # the company's kind by default
    assert (await lookup(registry, employee["id_card_number"]))["employment_kind"] == (
        "employee_based"
    )
    lines = {r["line"]: r for r in await report(registry, job["id"])}
    assert lines[4]["field"] == "company_credit_code"
    assert "no company with unified social credit code" in lines[4]["reason"]
    assert lines[5]["field"] == "employment_kind"
    second = await lookup(registry, employee["id_card_number"])
    changes = await registry.events("registry.employment.changed")
    assert {e.data["worker_id"] for e in changes} == {first["id"], second["id"]}

    # Re-imported without the company, the worker is unchanged (a blank is not a change);
    # with another company, a conflict.
    other = await registry.company()
    rows = [
        {**employed, "company_credit_code": ""},
        {**employee, "company_credit_code": other["credit_code"]},
    ]
    job = await imported(registry, "workers", csv_bytes(WORKER_COLUMNS, rows))
    assert counts(job) == {"total": 2, "unchanged": 1, "conflict": 1}
    assert [r["field"] for r in await report(registry, job["id"])] == ["company_credit_code"]


async def test_a_header_without_a_required_column_fails_the_file(registry: Registry) -> None:
    columns = [c for c in WORKER_COLUMNS if c != "phone"]
    row = worker_row()
    job = await imported(registry, "workers", csv_bytes(columns, [row]))

    assert job["status"] == "failed"
    assert "phone" in job["error"]
    assert counts(job) == {}
    [line] = await report(registry, job["id"])
    assert (line["line"], line["outcome"], line["field"]) == (1, "file", "phone")

    job = await imported(registry, "workers", csv_bytes([*WORKER_COLUMNS, "remarks"], [row]))
    assert job["status"] == "failed"
    assert "unknown column(s): remarks" in job["error"]
    assert await worker_count(registry) == 0


async def test_rows_before_broken_csv_quoting_are_kept(registry: Registry) -> None:
    good = worker_row()
    body = csv_bytes(WORKER_COLUMNS, [good]) + b'"unterminated,' + b"x" * 200_000 + b"\n"
    job = await imported(registry, "workers", body)
    assert job["status"] == "failed"
    assert "line 3" in job["error"]
    assert counts(job) == {"total": 1, "created": 1}
    [line] = await report(registry, job["id"])
    assert line["outcome"] == "file"


async def test_the_csv_report_has_the_documented_columns(registry: Registry) -> None:
    rows = [worker_row(county="nowhere") for _ in range(3)]
    job = await imported(registry, "workers", csv_bytes(WORKER_COLUMNS, rows))
    response = await registry.client.get(
        f"/api/v1/imports/{job['id']}/report", params={"format": "csv"}, headers=OFFICER
    )
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.splitlines()[0] == "line,key,outcome,field,reason"
    assert [r["line"] for r in await report(registry, job["id"], "csv")] == [2, 3, 4]
    listed = await registry.get("/api/v1/imports", OFFICER, kind="workers")
    assert [j["id"] for j in listed["items"]] == [job["id"]]
