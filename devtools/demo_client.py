"""What ``make demo`` (devtools/demo.py) stands on: the dev admin bootstrap, signed-in actors
calling the gateway (waiting out rate limits), and the session the steps share."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

DEMO_ADMIN_PHONE = "13800000000"


class DemoError(Exception):
    """The demo cannot go on; the message says why (and what to do)."""


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)[:300]
    return str(body)[:300]


@dataclass
class Actor:
    """One signed-in account (or the anonymous public) calling the gateway."""

    http: httpx.AsyncClient
    name: str
    token: str | None = None
    account_id: str | None = None
    party_id: str | None = None
    calls: int = 0

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **(extra or {})}

    async def call(
        self,
        method: str,
        path: str,
        *,
        ok: tuple[int, ...] = (200, 201),
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request; waits out 429s (``Retry-After``); DemoError unless the status is ok.

        Every POST carries an ``Idempotency-Key``: when a busy service makes the gateway give
        up (502-504), the request is sent again with the same key and answers once.
        """
        extra = dict(headers or {})
        if method == "POST":
            extra.setdefault("Idempotency-Key", uuid.uuid4().hex)
        for attempt in range(40):
            self.calls += 1
            response = await self.http.request(method, path, headers=self.headers(extra), **kwargs)
            status = response.status_code
            if status == 429:
                await asyncio.sleep(min(float(response.headers.get("Retry-After") or 1), 5.0))
            elif status in (502, 503, 504) and status not in ok and attempt < 10:
                await asyncio.sleep(1.0)
            elif status == 409 and "request-in-progress" in response.text:
                await asyncio.sleep(0.5)
            else:
                break
        if response.status_code not in ok:
            raise DemoError(
                f"{self.name}: {method} {path} answered {response.status_code}: {_detail(response)}"
            )
        return response

    async def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self.call(method, path, **kwargs)).json()

    async def pages(self, path: str, params: dict[str, Any] | None = None) -> list[Any]:
        """Every item of a cursor-paginated list."""
        items: list[Any] = []
        query = {**(params or {}), "limit": 200}
        while True:
            page = await self.json("GET", path, params=query)
            items.extend(page["items"])
            if not page.get("next_cursor"):
                return items
            query["cursor"] = page["next_cursor"]


@dataclass
class Credentials:
    admin_phone: str
    admin_password: str
    #: The password of every account the demo creates.
    accounts_password: str


def _credentials_file(var_dir: Path) -> Path:
    return var_dir / "secrets" / "demo_admin.json"


def _save(path: Path, content: dict[str, Any]) -> None:
    """Write the credentials file (mode 0600) in one step."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle, indent=2)
    os.replace(tmp, path)


def bootstrap_admin(var_dir: Path) -> Credentials:
    """The admin the demo acts as (see the module doc). Dev only: it writes to the local
    registry database of ``var_dir`` through ``python -m services.registry create-admin``."""
    phone = os.environ.get("JIASAO_DEMO_ADMIN_PHONE")
    password = os.environ.get("JIASAO_DEMO_ADMIN_PASSWORD")
    path = _credentials_file(var_dir)
    if path.exists():
        stored = json.loads(path.read_text())
    else:
        stored = {
            "admin_phone": DEMO_ADMIN_PHONE,
            "admin_password": "demo-" + secrets.token_urlsafe(18),
            "accounts_password": "demo-" + secrets.token_urlsafe(18),
            "admin_created": False,
        }
    if phone and password:
        return Credentials(phone, password, stored["accounts_password"])
    if not stored.get("admin_created"):
        _save(path, stored)  # before the admin exists: its password is never lost
        if not (var_dir / "registry.db").exists():
            raise DemoError(
                f"no registry database in {var_dir}: start the platform with `make run` first, "
                "or give an existing admin with JIASAO_DEMO_ADMIN_PHONE/_PASSWORD"
            )
        env = {**os.environ, "JIASAO_VAR_DIR": str(var_dir)}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "services.registry",
                "create-admin",
                "--phone",
                stored["admin_phone"],
                "--name",
                "演示管理员",
                "--password-stdin",
            ],
            input=stored["admin_password"] + "\n",
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if result.returncode != 0:
            raise DemoError(
                f"could not create the demo admin: {result.stderr.strip()}\n"
                "give an existing admin with JIASAO_DEMO_ADMIN_PHONE and JIASAO_DEMO_ADMIN_PASSWORD"
            )
        stored["admin_created"] = True
        _save(path, stored)
    return Credentials(stored["admin_phone"], stored["admin_password"], stored["accounts_password"])


@dataclass
class Session:
    """Everything the steps share: the gateway client, the signed-in actors, what was made."""

    http: httpx.AsyncClient
    credentials: Credentials
    admin: Actor
    concurrency: int = 8
    created: dict[str, int] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    #: Password hashing is slow by design: two account operations at a time.
    hashing: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n

    def public(self) -> Actor:
        return Actor(self.http, "public")

    async def login(self, name: str, phone: str, password: str) -> Actor:
        actor = Actor(self.http, name)
        for _ in range(5):  # a busy registry (password hashing) may answer 504: try again
            response = await actor.call(
                "POST",
                "/api/v1/auth/login",
                ok=(200, 503, 504),
                json={"phone": phone, "password": password},
            )
            if response.status_code == 200:
                break
        else:
            raise DemoError(f"{name}: the registry does not answer logins in time")
        actor.token = response.json()["access_token"]
        me = await actor.json("GET", "/api/v1/me")
        actor.account_id = str(me.get("id") or me.get("account_id") or "")
        actor.party_id = me.get("party_id")
        return actor

    async def account(self, name: str, phone: str, role: str, party_id: str | None = None) -> Actor:
        """Create the account (or find it made by an earlier run) and log in."""
        async with self.hashing:
            for _ in range(5):
                response = await self.admin.call(
                    "POST",
                    "/api/v1/accounts",
                    ok=(201, 409, 503, 504),
                    json={
                        "phone": phone,
                        "password": self.credentials.accounts_password,
                        "role": role,
                        "party_id": party_id,
                        "display_name": name,
                    },
                )
                if response.status_code in (201, 409):
                    break
            if response.status_code == 201:
                self.count(f"accounts ({role})")
            actor = await self.login(name, phone, self.credentials.accounts_password)
        self.actors[name] = actor
        return actor

    async def each(self, items: list[Any], work: Any) -> list[Any]:
        """``work(item)`` for every item, ``concurrency`` at a time, in order of the items."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(item: Any) -> Any:
            async with gate:
                return await work(item)

        return list(await asyncio.gather(*(one(item) for item in items)))


async def eventually(probe: Any, what: str, timeout: float = 60.0) -> Any:
    """Poll ``probe()`` until it returns something truthy (events take a moment to arrive)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.25)


State = dict[str, Any]


def small(state: State) -> bool:
    """A small run (tests): fewer accounts, whose password hashing dominates its time."""
    return state["workers"] < 500  # type: ignore[no-any-return]


def pick(key: str, n: int) -> int:
    """A stable pseudo-random number in 0..n-1 for ``key`` (reruns pick the same)."""
    return zlib.crc32(key.encode()) % n


def officer(state: State, key: int) -> Actor:
    """One of the programme's officers (``step_accounts``), spread by ``key``."""
    officers: list[Actor] = state["officers"]
    return officers[key % len(officers)]
