"""Bitstring Status List v1.0: the compressed bitstring and the status entries pointing into it.

Index 0 is the most significant bit of the first byte. The list is GZIP-compressed and written
as multibase base64url (``u`` prefix, no padding). Lists have at least 131,072 bits (16 KiB),
so one credential hides among many (herd privacy).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable

from services.credit.credentials.multibase import decode_u, encode_u

#: Bits in one list (the specification's minimum).
LIST_SIZE = 131_072
PURPOSES = ("revocation", "suspension")


class StatusListError(ValueError):
    """An encoded list that cannot be read, or an index outside it."""


def encode(set_indexes: Iterable[int], size: int = LIST_SIZE) -> str:
    bits = bytearray(size // 8)
    for index in set_indexes:
        if not 0 <= index < size:
            raise StatusListError(f"index {index} is outside a list of {size} bits")
        bits[index // 8] |= 0x80 >> (index % 8)
    # mtime=0: the same bits always give the same text (cacheable, comparable).
    return encode_u(gzip.compress(bytes(bits), mtime=0))


def decode(encoded: str) -> bytes:
    try:
        return gzip.decompress(decode_u(encoded))
    except (OSError, EOFError, ValueError) as exc:
        raise StatusListError(f"not a GZIP-compressed base64url bitstring: {exc}") from None


def bit(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bits) * 8} bits")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_indexes(bits: bytes) -> list[int]:
    return [
        byte_no * 8 + offset
        for byte_no, byte in enumerate(bits)
        if byte
        for offset in range(8)
        if byte & (0x80 >> offset)
    ]
