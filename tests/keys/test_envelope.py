"""Envelope format v1: layout, binding to tenant/record/purpose, opaque failures."""

from __future__ import annotations

import struct

import pytest

from sumun.crypto.hazmat.aead import Suite
from sumun.errors import DecryptionError, UsageError
from sumun.keys import envelope
from sumun.keys.envelope import Context

CTX = Context("acme", "rec-1", "prompt")


def test_header_layout_matches_the_documented_bytes() -> None:
    dek_id = bytes(range(16))
    nonce = b"\x00" * 11 + b"\x07"
    header = envelope.encode_header(Suite.ARIA_256_GCM, dek_id, 3, b"acme", nonce)
    assert header[:2] == b"SU"
    assert header[2] == 1  # format version
    assert header[3] == 2  # ARIA-256-GCM
    assert header[4:20] == dek_id
    assert struct.unpack(">I", header[20:24]) == (3,)
    assert header[24] == 4 and header[25:29] == b"acme"
    assert header[29:41] == nonce
    parsed, end = envelope.parse(header + b"\x00" * 16)
    assert end == len(header) == 37 + 4
    assert parsed == envelope.Header(Suite.ARIA_256_GCM, dek_id, 3, "acme", nonce)


def test_context_encoding_is_length_prefixed_so_fields_cannot_slide() -> None:
    a = Context("ab", "c", "p").encode()
    b = Context("a", "bc", "p").encode()
    assert a != b
    assert a == b"\x00\x02ab\x00\x01c\x00\x01p"


def test_context_field_too_long_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="65535"):
        Context("t" * 70000, "r", "p").encode()


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"SU",
        b"XX" + b"\x01" * 60,
        b"SU\x02" + b"\x01" * 60,  # unknown format version
        b"SU\x01\x09" + b"\x00" * 60,  # unknown suite
        b"SU\x01\x01" + b"\x00" * 20 + b"\x00" + b"\x00" * 40,  # empty key id
        envelope.encode_header(Suite.AES_256_GCM, b"\x00" * 16, 1, b"k", b"\x00" * 12)
        + b"short",  # truncated tag
        envelope.encode_header(Suite.AES_256_GCM, b"\x00" * 16, 1, b"\xff", b"\x00" * 12)
        + b"\x00" * 16,  # non-ASCII key id
    ],
)
def test_malformed_envelopes_fail_opaquely(blob: bytes) -> None:
    with pytest.raises(DecryptionError, match=r"^decryption failed"):
        envelope.parse(blob)
