"""Multibase/multicodec encodings used by Data Integrity: base58btc (``z``) and base64url (``u``).

Base58btc is the Bitcoin alphabet, big-endian, each leading zero byte written as ``1``.
"""

from __future__ import annotations

import base64

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}

#: Multicodec prefixes (unsigned varints) of Ed25519 keys in a Multikey.
ED25519_PUB = b"\xed\x01"
ED25519_PRIV = b"\x80\x26"


class MultibaseError(ValueError):
    """Text that is not the multibase encoding it should be."""


def b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rest = divmod(number, 58)
        out.append(ALPHABET[rest])
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise MultibaseError(f"{char!r} is not a base58btc character")
        number = number * 58 + _INDEX[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def encode_z(data: bytes) -> str:
    return "z" + b58encode(data)


def decode_z(text: str) -> bytes:
    if not text.startswith("z"):
        raise MultibaseError("expected a base58btc multibase value (prefix 'z')")
    return b58decode(text[1:])


def encode_u(data: bytes) -> str:
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_u(text: str) -> bytes:
    if not text.startswith("u"):
        raise MultibaseError("expected a base64url multibase value (prefix 'u')")
    body = text[1:]
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError as exc:
        raise MultibaseError("invalid base64url") from exc


def public_key_multibase(raw: bytes) -> str:
    """A 32-byte Ed25519 public key as a Multikey ``publicKeyMultibase`` (``z6Mk...``)."""
    return encode_z(ED25519_PUB + raw)


def public_key_from_multibase(text: str) -> bytes:
    data = decode_z(text)
    if not data.startswith(ED25519_PUB) or len(data) != 34:
        raise MultibaseError("not an Ed25519 Multikey public key")
    return data[2:]


def private_key_multibase(seed: bytes) -> str:
    return encode_z(ED25519_PRIV + seed)


def private_key_from_multibase(text: str) -> bytes:
    data = decode_z(text)
    if not data.startswith(ED25519_PRIV) or len(data) != 34:
        raise MultibaseError("not an Ed25519 Multikey secret key")
    return data[2:]
