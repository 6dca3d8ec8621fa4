"""The verifier remembers verified tokens: bounded, never past ``exp`` nor the TTL, never a
refused token. The key source is emptied after the first verification, so any later success
can only come from the cache and any re-verification fails."""

from __future__ import annotations

import asyncio

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.kit.auth import SigningKeys, StaticKeySource, TokenIssuer, TokenVerifier
from services.kit.errors import Problem

ISSUER = "jiasao-test"
AUDIENCE = "jiasao-test-api"


@pytest.fixture
def keys() -> SigningKeys:
    return SigningKeys("k1", {"k1": Ed25519PrivateKey.generate()})


def issue(keys: SigningKeys, subject: str = "s", ttl: int = 300) -> str:
    issuer = TokenIssuer(keys, issuer=ISSUER, audience=AUDIENCE, ttl=ttl)
    return issuer.issue(subject=subject, role="worker")[0]


def verifier(
    keys: SigningKeys, *, cache_size: int = 4096, cache_ttl: float = 60.0
) -> tuple[TokenVerifier, StaticKeySource]:
    source = StaticKeySource(keys.public_keys())
    check = TokenVerifier(
        source, issuer=ISSUER, audience=AUDIENCE, cache_size=cache_size, cache_ttl=cache_ttl
    )
    return check, source


async def test_a_verified_token_is_remembered(keys: SigningKeys) -> None:
    check, source = verifier(keys)
    token = issue(keys)
    first = await check.verify(token)
    source.keys.clear()
    assert await check.verify(token) == first
    with pytest.raises(Problem) as refused:
        await check.verify(issue(keys, "other"))
    assert refused.value.status == 401


async def test_a_refused_token_is_never_remembered(keys: SigningKeys) -> None:
    check, _ = verifier(keys)
    forged = issue(SigningKeys("k1", {"k1": Ed25519PrivateKey.generate()}))
    for _ in range(2):
        with pytest.raises(Problem):
            await check.verify(forged)
    assert forged not in check._verified


async def test_the_ttl_bounds_how_long_a_token_is_remembered(keys: SigningKeys) -> None:
    check, source = verifier(keys, cache_ttl=0.2)
    token = issue(keys)
    await check.verify(token)
    source.keys.clear()
    await check.verify(token)
    await asyncio.sleep(0.3)
    with pytest.raises(Problem):
        await check.verify(token)


async def test_a_token_is_not_remembered_past_its_expiry(keys: SigningKeys) -> None:
    check, source = verifier(keys)
    token = issue(keys, ttl=1)
    await check.verify(token)
    source.keys.clear()
    await check.verify(token)
    await asyncio.sleep(1.2)
    # Past exp (though within the verifier's leeway): verified afresh, and the key is gone.
    with pytest.raises(Problem, match="signing key"):
        await check.verify(token)


async def test_the_cache_is_bounded_least_recently_used_first(keys: SigningKeys) -> None:
    check, source = verifier(keys, cache_size=2)
    first, second, third = (issue(keys, name) for name in ("a", "b", "c"))
    for token in (first, second, first, third):  # second is now the least recently used
        await check.verify(token)
    source.keys.clear()
    assert (await check.verify(first)).subject == "a"
    assert (await check.verify(third)).subject == "c"
    with pytest.raises(Problem):
        await check.verify(second)


async def test_a_cache_of_size_zero_verifies_every_time(keys: SigningKeys) -> None:
    check, source = verifier(keys, cache_size=0)
    token = issue(keys)
    await check.verify(token)
    source.keys.clear()
    with pytest.raises(Problem):
        await check.verify(token)
