"""The public pages (no login): the programme and its tracks with courses, typical cases and
model workers, the nomination form, the 技术能手 roll, the red list, 百户十强 companies, county
brands and the way to card verification. Each reads the public API; an empty list renders as
"nothing here yet", a service that cannot answer as a notice, never as an error page."""

from __future__ import annotations

import re
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from contracts.common import County
from gateway.web.deps import Web, web
from gateway.web.login import posted_form
from gateway.web.render import PageContext, finish, render
from gateway.web.upstream import UpstreamUnavailable

router = APIRouter(include_in_schema=False)

TRACKS = ("maternal_infant", "housekeeping", "elderly_care", "medical_nursing")
_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{4,80}$")
_YEAR = re.compile(r"^(19|20)\d{2}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
NOMINATION_KINDS = ("case", "model_worker")
#: Who the brand API lets nominate (workers and employers: open call; company staff: their own).
NOMINATORS = frozenset({"worker", "employer", "company"})
COUNTIES: tuple[str, ...] = get_args(County)


def items_of(body: Any) -> list[dict[str, Any]]:
    """The entries of a list answer: a page ``{"items": [...]}`` or a bare list."""
    if isinstance(body, dict):
        body = body.get("items", [])
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


async def fetch_list(
    app: Web, ctx: PageContext, path: str, params: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """(entries, available)."""
    try:
        answer = await app.upstream.get(path, lang=ctx.lang, params=params)
    except (UpstreamUnavailable, LookupError):
        return [], False
    if not answer.ok:
        return [], False
    return items_of(answer.json()), True


def _list_page(
    ctx: PageContext, template: str, items: list[dict[str, Any]], ok: bool, **values: Any
) -> Response:
    return render(ctx, template, items=items, available=ok, **values)


@router.get("/")
async def home(request: Request) -> Response:
    app = web(request)
    ctx = await app.context(request)
    courses, ok = await fetch_list(app, ctx, "/api/v1/courses", {"limit": "12"})
    return render(ctx, "home.html", tracks=TRACKS, courses=courses, available=ok)


async def _cases(request: Request, kind: str) -> Response:
    app = web(request)
    ctx = await app.context(request)
    items, ok = await fetch_list(app, ctx, "/api/v1/brand/cases", {"kind": kind})
    return _list_page(ctx, "cases.html", items, ok, kind=kind)


@router.get("/cases")
async def cases(request: Request) -> Response:
    return await _cases(request, "case")


@router.get("/model-workers")
async def model_workers(request: Request) -> Response:
    return await _cases(request, "model_worker")


@router.get("/cases/{case_id}")
async def case_detail(request: Request, case_id: str) -> Response:
    app = web(request)
    ctx = await app.context(request)
    not_found = render(
        ctx,
        "error.html",
        status=404,
        heading=ctx.t["not_found_title"],
        message=ctx.t["case_not_found"],
    )
    if not _ID.fullmatch(case_id):
        return not_found
    try:
        answer = await app.upstream.get(f"/api/v1/brand/cases/{case_id}", lang=ctx.lang)
    except (UpstreamUnavailable, LookupError):
        return render(
            ctx,
            "error.html",
            status=503,
            heading=ctx.t["error_title"],
            message=ctx.t["unavailable"],
        )
    if answer.status in (404, 422):
        return not_found
    if not answer.ok:
        return render(
            ctx,
            "error.html",
            status=502,
            heading=ctx.t["error_title"],
            message=ctx.t["unavailable"],
        )
    return render(ctx, "case.html", case=answer.json())


@router.get("/skill-masters")
async def skill_masters(request: Request) -> Response:
    app = web(request)
    ctx = await app.context(request)
    items, ok = await fetch_list(app, ctx, "/api/v1/brand/skill-masters")
    return _list_page(ctx, "skill_masters.html", items, ok)


@router.get("/redlist")
async def redlist(request: Request) -> Response:
    app = web(request)
    ctx = await app.context(request)
    items, ok = await fetch_list(app, ctx, "/api/v1/redlist", {"limit": "100"})
    return _list_page(ctx, "redlist.html", items, ok)


@router.get("/top-companies")
async def top_companies(request: Request) -> Response:
    app = web(request)
    ctx = await app.context(request)
    year = request.query_params.get("year", "").strip()
    if year and not _YEAR.fullmatch(year):
        return render(
            ctx, "error.html", status=400, heading=ctx.t["bad_request_title"], message=year[:10]
        )
    params = {"year": year} if year else None
    items, ok = await fetch_list(app, ctx, "/api/v1/brand/top-companies", params)
    return _list_page(ctx, "top_companies.html", items, ok, year=year)


@router.get("/counties")
async def counties(request: Request) -> Response:
    app = web(request)
    ctx = await app.context(request)
    items, ok = await fetch_list(app, ctx, "/api/v1/brand/counties")
    return _list_page(ctx, "counties.html", items, ok)


@router.get("/card-check")
async def card_check(request: Request) -> Response:
    """A form for the code printed on a card; the check itself is credit's /verify/{code}."""
    ctx = await web(request).context(request)
    code = request.query_params.get("code")
    if code is None:
        return render(ctx, "card_check.html", error=None, code="")
    code = code.strip()
    if not _CODE.fullmatch(code):
        return render(
            ctx, "card_check.html", status=400, error=ctx.t["verify_bad_code"], code=code[:80]
        )
    response = RedirectResponse(f"/verify/{code}?lang={ctx.lang}", status_code=303)
    finish(ctx, response)
    return response


def nomination_body(form: dict[str, str], lang: str) -> dict[str, Any] | str:
    """The brand API's nomination from the form, or the name of the field that is wrong.

    Title and body are written in the page's language; zh-CN is the text the API requires,
    so the same words go there too when the page is in another language."""
    kind = form.get("kind", "")
    if kind not in NOMINATION_KINDS:
        return "kind"
    body: dict[str, Any] = {"kind": kind}
    for field, limit in (("name", 200), ("story", 5000)):
        value = form.get(field, "").strip()
        if not value or len(value) > limit:
            return field
        texts = {"zh-CN": value}
        if lang != "zh-CN":
            texts[lang] = value
        body["title" if field == "name" else "body"] = texts
    county = form.get("county", "").strip()
    if county not in COUNTIES:
        return "county"
    body["county"] = county
    worker = form.get("worker_id", "").strip()
    if worker:
        if not _UUID.fullmatch(worker):
            return "worker_id"
        body["worker_id"] = worker.lower()
    elif kind == "model_worker":
        return "worker_id"
    return body


@router.get("/nominate")
async def nominate_form(request: Request) -> Response:
    ctx = await web(request).context(request)
    return render(ctx, "nominate.html", error=None, done=False, form={})


@router.post("/nominate")
async def nominate(request: Request) -> Response:
    app = web(request)
    ctx = await app.context(request)
    form = await posted_form(app, ctx, request)
    if isinstance(form, Response):
        return form
    if ctx.user is None:
        return RedirectResponse("/login?next=/nominate", status_code=303)
    if ctx.user.role not in NOMINATORS:
        return render(ctx, "nominate.html", status=403, error=None, done=False, form={})
    body = nomination_body(form, ctx.lang)
    if isinstance(body, str):
        return render(
            ctx,
            "nominate.html",
            status=400,
            error=ctx.t["nominate_failed"] + body,
            done=False,
            form=form,
        )
    try:
        answer = await app.upstream.post(
            "/api/v1/brand/nominations", lang=ctx.lang, token=ctx.token, json=body
        )
    except (UpstreamUnavailable, LookupError):
        return render(
            ctx,
            "nominate.html",
            status=503,
            error=ctx.t["unavailable"],
            done=False,
            form=form,
        )
    if not answer.ok:
        status = answer.status if 400 <= answer.status < 500 else 502
        return render(
            ctx,
            "nominate.html",
            status=status,
            error=ctx.t["nominate_failed"] + answer.problem_detail(),
            done=False,
            form=form,
        )
    return render(ctx, "nominate.html", error=None, done=True, form={})
