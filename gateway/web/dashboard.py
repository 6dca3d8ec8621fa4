"""The officers' dashboard: every figure of every statistics topic (``GET
/api/v1/statistics/{topic}`` of the owning service, with the officer's own token), filtered by
county and period, each drawn as a chart with its table, and each downloadable as CSV."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import get_args
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from contracts.common import County
from contracts.statistics import TOPIC_OWNERS, Filters, StatisticsReport
from gateway.web.deps import Web, web
from gateway.web.figures import FigureView, figure_csv, report_views
from gateway.web.login import STAFF_ROLES
from gateway.web.render import PageContext, finish, render
from gateway.web.upstream import UpstreamUnavailable

COUNTIES: tuple[str, ...] = get_args(County)
TOPICS: tuple[str, ...] = tuple(TOPIC_OWNERS)

router = APIRouter(include_in_schema=False)


class SignedOut(Exception):
    """The officer's token is missing or no longer accepted."""


@dataclass(slots=True)
class TopicView:
    topic: str
    figures: list[FigureView] = field(default_factory=list)
    generated_at: str | None = None
    error: str | None = None


def parse_filters(request: Request) -> Filters:
    """County and period from the query (empty fields mean "all"); raises ValidationError."""
    raw = {
        name: value
        for name in ("county", "from", "to")
        if (value := request.query_params.get(name, "").strip())
    }
    filters = Filters.model_validate(raw)
    if filters.from_month and filters.to_month and filters.from_month > filters.to_month:
        raise ValueError("from is after to")
    return filters


def filter_params(filters: Filters) -> dict[str, str]:
    return {
        key: value
        for key, value in (
            ("county", filters.county),
            ("from", filters.from_month),
            ("to", filters.to_month),
        )
        if value
    }


async def fetch_topic(app: Web, ctx: PageContext, topic: str, filters: Filters) -> TopicView:
    view = TopicView(topic)
    try:
        answer = await app.upstream.get(
            f"/api/v1/statistics/{topic}",
            lang=ctx.lang,
            token=ctx.token,
            params=filter_params(filters),
        )
    except (UpstreamUnavailable, LookupError):
        view.error = ctx.t["unavailable"]
        return view
    if answer.status == 401:
        raise SignedOut
    if not answer.ok:
        view.error = answer.problem_detail()
        return view
    try:
        report = StatisticsReport.model_validate(answer.json())
    except (ValidationError, ValueError):
        view.error = ctx.t["unavailable"]
        return view
    view.figures = report_views(report, ctx.lang)
    view.generated_at = report.generated_at
    return view


def _to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _gate(ctx: PageContext) -> Response | None:
    """Signed-out callers go to the login page; others than officers get a clear 403."""
    if ctx.user is None:
        return _to_login(ctx.request)
    if ctx.user.role not in STAFF_ROLES:
        return render(
            ctx,
            "error.html",
            status=403,
            heading=ctx.t["forbidden_title"],
            message=ctx.t["forbidden_text"],
        )
    return None


def _bad_filter(ctx: PageContext, error: Exception) -> Response:
    message = ctx.t["filter_bad"] + (
        "; ".join(str(e["loc"][-1]) for e in error.errors())
        if isinstance(error, ValidationError)
        else str(error)
    )
    return render(
        ctx, "error.html", status=400, heading=ctx.t["bad_request_title"], message=message
    )


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    app = web(request)
    ctx = await app.context(request)
    if (refused := _gate(ctx)) is not None:
        return refused
    try:
        filters = parse_filters(request)
    except (ValidationError, ValueError) as exc:
        return _bad_filter(ctx, exc)
    try:
        topics = await asyncio.gather(*(fetch_topic(app, ctx, t, filters) for t in TOPICS))
    except SignedOut:
        return _to_login(request)
    return render(
        ctx,
        "dashboard.html",
        topics=topics,
        filters=filters,
        counties=COUNTIES,
        query=filter_params(filters),
    )


@router.get("/dashboard/figures/{topic}/{key}.csv")
async def figure_download(request: Request, topic: str, key: str) -> Response:
    """One figure's rows as CSV (UTF-8 with a byte-order mark, so spreadsheets read the
    Chinese right), for the same filters as the dashboard."""
    app = web(request)
    ctx = await app.context(request)
    if (refused := _gate(ctx)) is not None:
        return refused
    try:
        filters = parse_filters(request)
    except (ValidationError, ValueError) as exc:
        return _bad_filter(ctx, exc)
    not_found = render(
        ctx,
        "error.html",
        status=404,
        heading=ctx.t["not_found_title"],
        message=ctx.t["figure_not_found"],
    )
    if topic not in TOPIC_OWNERS or not re.fullmatch(r"[A-Za-z0-9_-]{1,80}", key):
        return not_found
    try:
        view = await fetch_topic(app, ctx, topic, filters)
    except SignedOut:
        return _to_login(request)
    if view.error is not None:
        return render(
            ctx, "error.html", status=502, heading=ctx.t["error_title"], message=view.error
        )
    found = next((v.figure for v in view.figures if v.figure.key == key), None)
    if found is None:
        return not_found
    suffix = "-".join(filter_params(filters).values())
    filename = f"{topic}-{key}{'-' + suffix if suffix else ''}.csv"
    response = Response(
        "\ufeff" + figure_csv(found),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
    finish(ctx, response)
    return response
