"""PII encryption at rest: AES-GCM tokens, rotation, blind index, key loading."""

from __future__ import annotations

import base64
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from services.kit.pii import (
    PiiCipher,
    PiiDecryptError,
    PiiKeyError,
    PiiSettings,
    ensure_dev_pii_keys,
    load_pii_cipher,
    load_pii_keys,
    pii_key_file,
)
from services.kit.settings import PlatformSettings

CTX = "registry.worker.id_card"
ID_NUMBER = "11010519491231002X"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A developer's shell may export real keys; tests must see only what they set.
    for name in ("JIASAO_PII_KEYS", "JIASAO_PII_ACTIVE_KEY", "JIASAO_PII_INDEX_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIASAO_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def k1() -> bytes:
    return os.urandom(32)


@pytest.fixture
def k2() -> bytes:
    return os.urandom(32)


@pytest.fixture
def index_key() -> bytes:
    return os.urandom(32)


@pytest.fixture
def cipher(k1: bytes, index_key: bytes) -> PiiCipher:
    return PiiCipher({"k1": k1}, "k1", index_key)


# --- Encryption ------------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [ID_NUMBER, "13812345678", "", "肇庆市端州区 家政"])
def test_round_trip(cipher: PiiCipher, plaintext: str) -> None:
    token = cipher.encrypt(plaintext, context=CTX)
    assert cipher.decrypt(token, context=CTX) == plaintext


def test_token_format(cipher: PiiCipher) -> None:
    token = cipher.encrypt(ID_NUMBER, context=CTX)
    version, key_id, payload = token.split(".")
    assert (version, key_id) == ("v1", "k1")
    blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert len(blob) == 12 + len(ID_NUMBER) + 16  # nonce | ciphertext | GCM tag
    assert token.isascii() and "=" not in token


def test_ciphertext_is_fresh_and_hides_plaintext(cipher: PiiCipher) -> None:
    tokens = {cipher.encrypt(ID_NUMBER, context=CTX) for _ in range(50)}
    assert len(tokens) == 50  # random nonce: equal values do not give equal tokens
    for token in tokens:
        assert ID_NUMBER not in token
        assert "19491231" not in token
        payload = token.split(".")[2]
        blob = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        assert ID_NUMBER.encode() not in blob


def test_context_mismatch_fails(cipher: PiiCipher) -> None:
    token = cipher.encrypt(ID_NUMBER, context=CTX)
    with pytest.raises(PiiDecryptError, match="wrong context or tampered"):
        cipher.decrypt(token, context="registry.worker.mobile")


def _flip(text: str, pos: int) -> str:
    return text[:pos] + ("A" if text[pos] != "A" else "B") + text[pos + 1 :]


def test_tampered_tokens_fail(cipher: PiiCipher) -> None:
    token = cipher.encrypt(ID_NUMBER, context=CTX)
    prefix = len("v1.k1.")
    for pos in range(prefix, len(token)):
        tampered = _flip(token, pos)
        if tampered == token:
            continue
        with pytest.raises(PiiDecryptError):
            cipher.decrypt(tampered, context=CTX)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "v2.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k1.",
        "v1.k1.AAAA",
        "v1.k.1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "v1.k1.AAAA+AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_tokens_fail(cipher: PiiCipher, token: str) -> None:
    with pytest.raises(PiiDecryptError):
        cipher.decrypt(token, context=CTX)


def test_swapping_key_id_fails(k1: bytes, k2: bytes, index_key: bytes) -> None:
    both = PiiCipher({"k1": k1, "k2": k2}, "k1", index_key)
    token = both.encrypt(ID_NUMBER, context=CTX)
    with pytest.raises(PiiDecryptError):
        both.decrypt(token.replace("v1.k1.", "v1.k2.", 1), context=CTX)


def test_unknown_key_id_fails(cipher: PiiCipher, k2: bytes, index_key: bytes) -> None:
    token = cipher.encrypt(ID_NUMBER, context=CTX)
    other = PiiCipher({"k2": k2}, "k2", index_key)
    with pytest.raises(PiiDecryptError, match="'k1', not in the keyring"):
        other.decrypt(token, context=CTX)


def test_context_must_be_given(cipher: PiiCipher) -> None:
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError, match="context"):
            cipher.encrypt(ID_NUMBER, context=bad)
        with pytest.raises(ValueError, match="context"):
            cipher.blind_index(ID_NUMBER, context=bad)


# --- Rotation --------------------------------------------------------------------------------


def test_key_rotation(k1: bytes, k2: bytes, index_key: bytes) -> None:
    old = PiiCipher({"k1": k1}, "k1", index_key)
    token = old.encrypt(ID_NUMBER, context=CTX)
    assert not old.needs_rotation(token)

    # A new active key is added; the old one stays so existing rows still decrypt.
    rotated = PiiCipher({"k1": k1, "k2": k2}, "k2", index_key)
    assert rotated.decrypt(token, context=CTX) == ID_NUMBER
    assert rotated.needs_rotation(token)
    assert rotated.key_id_of(rotated.encrypt("x", context=CTX)) == "k2"

    fresh = rotated.reencrypt(token, CTX)
    assert rotated.key_id_of(fresh) == "k2"
    assert not rotated.needs_rotation(fresh)
    assert rotated.decrypt(fresh, context=CTX) == ID_NUMBER

    # Once every row is re-encrypted the old key can leave the keyring.
    retired = PiiCipher({"k2": k2}, "k2", index_key)
    assert retired.decrypt(fresh, context=CTX) == ID_NUMBER
    with pytest.raises(PiiDecryptError):
        retired.decrypt(token, context=CTX)


def test_reencrypt_keeps_context_binding(k1: bytes, k2: bytes, index_key: bytes) -> None:
    rotated = PiiCipher({"k1": k1, "k2": k2}, "k2", index_key)
    token = PiiCipher({"k1": k1}, "k1", index_key).encrypt(ID_NUMBER, context=CTX)
    with pytest.raises(PiiDecryptError):
        rotated.reencrypt(token, "registry.worker.mobile")


def test_needs_rotation_rejects_garbage(cipher: PiiCipher) -> None:
    with pytest.raises(PiiDecryptError):
        cipher.needs_rotation("not-a-token")


# --- Blind index -----------------------------------------------------------------------------


def test_blind_index_is_deterministic_hex(cipher: PiiCipher) -> None:
    first = cipher.blind_index(ID_NUMBER, context=CTX)
    assert first == cipher.blind_index(ID_NUMBER, context=CTX)
    assert len(first) == 64 and int(first, 16) >= 0
    assert ID_NUMBER not in first


def test_blind_index_normalises(cipher: PiiCipher) -> None:
    expected = cipher.blind_index(ID_NUMBER, context=CTX)
    assert cipher.blind_index(" 110105 19491231 002x", context=CTX) == expected


def test_blind_index_differs_per_context_and_key(cipher: PiiCipher, k1: bytes) -> None:
    value = cipher.blind_index(ID_NUMBER, context=CTX)
    assert cipher.blind_index(ID_NUMBER, context="training.trainee.id_card") != value
    other_index = PiiCipher({"k1": k1}, "k1", os.urandom(32))
    assert other_index.blind_index(ID_NUMBER, context=CTX) != value
    assert cipher.blind_index("11010119900307803X", context=CTX) != value


def test_blind_index_survives_encryption_key_rotation(
    cipher: PiiCipher, k1: bytes, k2: bytes, index_key: bytes
) -> None:
    rotated = PiiCipher({"k1": k1, "k2": k2}, "k2", index_key)
    assert rotated.blind_index(ID_NUMBER, context=CTX) == cipher.blind_index(ID_NUMBER, context=CTX)


# --- Construction ----------------------------------------------------------------------------


def test_cipher_validates_its_keys(k1: bytes, index_key: bytes) -> None:
    with pytest.raises(PiiKeyError, match="32 bytes"):
        PiiCipher({"k1": k1[:16]}, "k1", index_key)
    with pytest.raises(PiiKeyError, match="not in the keyring"):
        PiiCipher({"k1": k1}, "k2", index_key)
    with pytest.raises(PiiKeyError, match="blind-index key must be 32 bytes"):
        PiiCipher({"k1": k1}, "k1", b"short")
    with pytest.raises(PiiKeyError, match="must differ"):
        PiiCipher({"k1": k1}, "k1", k1)
    with pytest.raises(PiiKeyError, match="key id"):
        PiiCipher({"k.1": k1}, "k.1", index_key)
    with pytest.raises(PiiKeyError, match="empty"):
        PiiCipher({}, "k1", index_key)


def test_repr_shows_no_key_material(cipher: PiiCipher, k1: bytes, index_key: bytes) -> None:
    keys = load_pii_keys(pii=PiiSettings(keys=f"k1:{b64(k1)}", index_key=b64(index_key)))
    text = repr(cipher) + repr(keys) + repr(PiiSettings(index_key=b64(index_key)))
    for secret in (k1, index_key):
        assert b64(secret) not in text
        assert repr(secret) not in text


# --- Key loading -----------------------------------------------------------------------------


def test_load_from_env(monkeypatch: pytest.MonkeyPatch, k1: bytes, k2: bytes) -> None:
    index = os.urandom(32)
    # URL-safe, unpadded and padded forms are all accepted; whitespace is tolerated.
    k2_urlsafe = base64.urlsafe_b64encode(k2).decode().rstrip("=")
    monkeypatch.setenv("JIASAO_PII_KEYS", f"old:{b64(k1)}, new:{k2_urlsafe}")
    monkeypatch.setenv("JIASAO_PII_ACTIVE_KEY", "new")
    monkeypatch.setenv("JIASAO_PII_INDEX_KEY", b64(index))
    keys = load_pii_keys()
    assert keys.keyring == {"old": k1, "new": k2}
    assert (keys.active_key_id, keys.index_key, keys.source) == ("new", index, "environment")

    cipher = load_pii_cipher()
    token = cipher.encrypt(ID_NUMBER, context=CTX)
    assert cipher.key_id_of(token) == "new"
    assert PiiCipher({"new": k2}, "new", index).decrypt(token, context=CTX) == ID_NUMBER


def test_env_single_key_needs_no_active(monkeypatch: pytest.MonkeyPatch, k1: bytes) -> None:
    monkeypatch.setenv("JIASAO_PII_KEYS", f"only:{b64(k1)}")
    monkeypatch.setenv("JIASAO_PII_INDEX_KEY", b64(os.urandom(32)))
    assert load_pii_keys().active_key_id == "only"


def test_env_takes_precedence_over_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, k1: bytes
) -> None:
    ensure_dev_pii_keys(tmp_path / "var")
    monkeypatch.setenv("JIASAO_PII_KEYS", f"prod:{b64(k1)}")
    monkeypatch.setenv("JIASAO_PII_INDEX_KEY", b64(os.urandom(32)))
    assert load_pii_keys().active_key_id == "prod"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"JIASAO_PII_ACTIVE_KEY": "k1"}, "JIASAO_PII_KEYS is not set"),
        ({"JIASAO_PII_KEYS": "k1:{k}"}, "JIASAO_PII_INDEX_KEY is not set"),
        ({"JIASAO_PII_KEYS": "k1", "JIASAO_PII_INDEX_KEY": "{k}"}, "must look like"),
        ({"JIASAO_PII_KEYS": "k1:!!!", "JIASAO_PII_INDEX_KEY": "{k}"}, "not valid base64"),
        ({"JIASAO_PII_KEYS": "k1:AAAA", "JIASAO_PII_INDEX_KEY": "{k}"}, "32 bytes, got 3"),
        ({"JIASAO_PII_KEYS": "k1:{k},k1:{k}", "JIASAO_PII_INDEX_KEY": "{k}"}, "twice"),
        ({"JIASAO_PII_KEYS": "a:{k},b:{k}", "JIASAO_PII_INDEX_KEY": "{k}"}, "must name one"),
        (
            {
                "JIASAO_PII_KEYS": "a:{k}",
                "JIASAO_PII_ACTIVE_KEY": "b",
                "JIASAO_PII_INDEX_KEY": "{k}",
            },
            "'b' is not in JIASAO_PII_KEYS",
        ),
    ],
)
def test_bad_env_is_explained(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    key = b64(os.urandom(32))
    for name, value in env.items():
        monkeypatch.setenv(name, value.replace("{k}", key))
    with pytest.raises(PiiKeyError, match=message) as info:
        load_pii_keys()
    assert key not in str(info.value)  # errors never echo key material


def test_dev_key_file_is_private_and_loadable(tmp_path: Path) -> None:
    var_dir = tmp_path / "var"
    path = ensure_dev_pii_keys(var_dir)
    assert path == var_dir / "secrets" / "pii_keys.json" == pii_key_file(var_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p != path]  # no temp file left behind

    data = json.loads(path.read_text())
    assert data["active"] in data["keys"]
    assert len(base64.b64decode(data["keys"][data["active"]])) == 32
    assert len(base64.b64decode(data["index_key"])) == 32

    keys = load_pii_keys()  # JIASAO_VAR_DIR points at var_dir (fixture)
    assert keys.source == str(path)
    assert keys.active_key_id == data["active"]
    token = keys.cipher().encrypt(ID_NUMBER, context=CTX)
    assert load_pii_cipher(PlatformSettings(var_dir=var_dir)).decrypt(token, context=CTX) == (
        ID_NUMBER
    )


def test_dev_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = ensure_dev_pii_keys(tmp_path)
    before = path.read_bytes()
    assert ensure_dev_pii_keys(tmp_path) == path
    assert path.read_bytes() == before

    # Even a file an operator edited by hand stays as it is.
    path.write_text('{"custom": true}')
    ensure_dev_pii_keys(tmp_path)
    assert path.read_text() == '{"custom": true}'


def test_concurrent_first_start_agrees_on_one_key_file(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: ensure_dev_pii_keys(tmp_path), range(16)))
    assert set(paths) == {pii_key_file(tmp_path)}
    assert [p.name for p in (tmp_path / "secrets").iterdir()] == ["pii_keys.json"]
    json.loads(paths[0].read_text())  # complete, parseable


def test_missing_keys_error_tells_operator_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PiiKeyError) as info:
        load_pii_cipher()
    message = str(info.value)
    assert "make run" in message
    assert "JIASAO_PII_KEYS" in message and "JIASAO_PII_INDEX_KEY" in message
    assert str((tmp_path / "var" / "secrets" / "pii_keys.json").resolve()) in message


def test_corrupt_key_file_is_explained(tmp_path: Path) -> None:
    path = ensure_dev_pii_keys(tmp_path / "var")
    path.write_text("{not json")
    with pytest.raises(PiiKeyError, match="cannot read PII key file"):
        load_pii_keys()
    path.write_text(
        json.dumps(
            {"active": "a", "keys": {"b": b64(os.urandom(32))}, "index_key": b64(os.urandom(32))}
        )
    )
    with pytest.raises(PiiKeyError, match="active key 'a' is not among its keys"):
        load_pii_keys()
