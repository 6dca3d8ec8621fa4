"""Every registry route declares one kit policy, and the party routes' policies are exactly the
roles and scopes of :data:`access.CAPABILITIES` / :data:`access.PARTNER_SCOPES`."""

from __future__ import annotations

from services.kit.policy import route_policies, routes_without_policy
from services.registry.app import create_app
from services.registry.parties import access
from tests.registry.test_parties_support import Registry, bearer, problem

#: Routes anyone may call: they carry their own credentials (or none are needed).
PUBLIC = {
    ("GET", "/.well-known/jwks.json"),
    # The exchange key's public half: anyone must be able to check a signed feed or export.
    ("GET", "/.well-known/exchange-jwks.json"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/token"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    # Prometheus: its own scrape token, refused when none is configured (tests/deploy).
    ("GET", "/internal/metrics"),
}


def test_every_route_declares_a_policy() -> None:
    assert routes_without_policy(create_app()) == []


def test_only_the_auth_endpoints_key_sets_and_health_are_public() -> None:
    policies = route_policies(create_app())
    assert {key for key, policy in policies.items() if policy.kind == "public"} == PUBLIC
    operators = {key for key, policy in policies.items() if policy.kind == "operator"}
    assert operators and all(path.startswith("/internal/") for _, path in operators)


def test_party_route_policies_follow_the_capability_table() -> None:
    policies = route_policies(create_app())
    checked = 0
    for action in access.Action:
        expected = access.policy(action)
        declared = getattr(expected, "__doc__", "")
        matching = [p for p in policies.values() if p.describe() == declared]
        assert matching, f"no route declares the policy of {action}: {declared}"
        checked += 1
    assert checked == len(access.Action)
    worker_read = policies[("GET", "/api/v1/workers/{worker_id}")]
    assert worker_read.roles == {"officer", "admin", "worker", "company"}
    assert worker_read.scopes == {access.WORKERS_READ_SCOPE}
    consent_grant = policies[("POST", "/api/v1/workers/{worker_id}/consents")]
    assert consent_grant.roles == {"worker"} and not consent_grant.scopes


async def test_the_token_endpoint_refuses_a_bearer_token(registry: Registry) -> None:
    """Public, but its Authorization header is for client credentials (Basic) only."""
    response = await registry.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers=bearer("partner", scopes=["workers:read"]),
    )
    body = problem(response, 401)
    assert body["error"] == "invalid_client"


async def test_a_public_route_still_refuses_a_bad_token(registry: Registry) -> None:
    response = await registry.client.post(
        "/api/v1/auth/login",
        json={"phone": "13800138000", "password": "x" * 12},
        headers={"Authorization": "Bearer not-a-token"},
    )
    problem(response, 401)
