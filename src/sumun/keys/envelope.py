"""The envelope format, version 1 (byte-by-byte in docs/envelope-format.md).

    offset   size  field
    0        2     magic "SU" (0x53 0x55)
    2        1     format version = 0x01
    3        1     suite id (0x01 AES-256-GCM, 0x02 ARIA-256-GCM)
    4        16    DEK id: reference to the wrapped DEK in the DEK store
    20       4     KEK version (uint32, big-endian) that wraps the DEK
    24       1     L = length of the key id (1..63)
    25       L     key id (ASCII)
    25+L     12    nonce
    37+L     n+16  AEAD ciphertext || tag

AAD = header (bytes 0 .. 37+L) || context, where context is three length-prefixed
(uint16 BE) UTF-8 strings: tenant, record id, purpose. A ciphertext moved to another tenant,
record or purpose — or with any header byte changed — fails to authenticate.

Parsing failures raise the opaque `DecryptionError`: callers learn nothing about *why*.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from sumun.crypto.hazmat.aead import NONCE_SIZE, TAG_SIZE, Suite
from sumun.errors import DecryptionError, UsageError

__all__ = ["FORMAT_VERSION", "MAGIC", "Context", "Header", "encode_header", "parse"]

MAGIC = b"SU"
FORMAT_VERSION = 1
_FIXED = struct.Struct(">2sBB16sIB")
_SUITES = {s.wire_id: s for s in Suite}
_MAX_FIELD = 0xFFFF


@dataclass(frozen=True, slots=True)
class Context:
    """What a ciphertext is bound to. All three must match at decryption."""

    tenant: str
    record_id: str
    purpose: str

    def encode(self) -> bytes:
        out = bytearray()
        for value in (self.tenant, self.record_id, self.purpose):
            raw = value.encode("utf-8")
            if len(raw) > _MAX_FIELD:
                raise UsageError("context fields are limited to 65535 bytes")
            out += len(raw).to_bytes(2, "big") + raw
        return bytes(out)


@dataclass(frozen=True, slots=True)
class Header:
    suite: Suite
    dek_id: bytes
    kek_version: int
    key_id: str
    nonce: bytes


def encode_header(
    suite: Suite, dek_id: bytes, kek_version: int, key_id_bytes: bytes, nonce: bytes
) -> bytes:
    return (
        _FIXED.pack(MAGIC, FORMAT_VERSION, suite.wire_id, dek_id, kek_version, len(key_id_bytes))
        + key_id_bytes
        + nonce
    )


def parse(blob: bytes) -> tuple[Header, int]:
    """Return the header and its length (the ciphertext starts there)."""
    try:
        magic, version, suite_id, dek_id, kek_version, key_len = _FIXED.unpack_from(blob, 0)
    except struct.error as exc:
        raise DecryptionError() from exc
    end = _FIXED.size + key_len + NONCE_SIZE
    if (
        magic != MAGIC
        or version != FORMAT_VERSION
        or suite_id not in _SUITES
        or not 1 <= key_len <= 63
        or len(blob) < end + TAG_SIZE
    ):
        raise DecryptionError()
    try:
        key_id = blob[_FIXED.size : _FIXED.size + key_len].decode("ascii")
    except UnicodeDecodeError as exc:
        raise DecryptionError() from exc
    nonce = blob[end - NONCE_SIZE : end]
    return Header(_SUITES[suite_id], dek_id, kek_version, key_id, nonce), end
