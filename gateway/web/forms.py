"""Reading a page's POSTed form (application/x-www-form-urlencoded, small) and safe redirects."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

#: A page form is a few fields; anything larger is not one of ours.
MAX_FORM_BYTES = 32 * 1024


class BadForm(ValueError):
    pass


async def read_form(request: Request) -> dict[str, str]:
    """The fields of an urlencoded form (the last value of a repeated field is refused)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise BadForm("expected an HTML form")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadForm("form too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise BadForm("form is not UTF-8") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise BadForm(f"field {key!r} given twice")
        form[key] = value
    return form


def local_path(target: str | None, default: str) -> str:
    """A redirect target only within this site: an absolute path, never ``//host`` or a URL."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 for c in target)
        or len(target) > 500
    ):
        return default
    return target
