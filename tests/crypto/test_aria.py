"""ARIA-256-GCM through the system libcrypto: known answers, tampering, threads, hygiene.

Known-answer sources (data copied from the documents, never computed here):
- ARIA block cipher: RFC 5794, Appendix A.1-A.3.
- ARIA-GCM: RFC 8269, Appendix A.2.1 (SRTP_AEAD_ARIA_128_GCM) and A.2.2
  (SRTP_AEAD_ARIA_256_GCM); the same bytes appear in Wycheproof's `src/aria_ktv.py`.

Cross-check: pyca `cryptography` has no ARIA, and the `openssl` CLI cannot do AEAD, so the
random-input comparison below uses `_reference_gcm`, a slow pure-Python GCM (NIST SP 800-38D)
built on the raw ARIA block that RFC 5794 pins. It shares only the block cipher with OpenSSL,
not OpenSSL's GCM/GHASH code, and is itself pinned to both RFC 8269 vectors.
"""

from __future__ import annotations

import ctypes.util
import os
import threading
from collections.abc import Iterator
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sumun.crypto.hazmat import aria
from sumun.crypto.hazmat.aead import Suite, new_cipher
from sumun.crypto.hazmat.aria import AriaGcm, aria_ecb_encrypt_block
from sumun.errors import ConfigError, DecryptionError

OPAQUE = "decryption failed"

# RFC 5794 Appendix A: one plaintext, the key 00 01 .. truncated to each size.
RFC5794_PLAINTEXT = "00112233445566778899aabbccddeeff"
RFC5794_VECTORS = [
    pytest.param(
        "000102030405060708090a0b0c0d0e0f",
        "d718fbd6ab644c739da95f3be6451778",
        id="A.1-128",
    ),
    pytest.param(
        "000102030405060708090a0b0c0d0e0f1011121314151617",
        "26449c1805dbe7aa25a468ce263a9e79",
        id="A.2-192",
    ),
    pytest.param(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "f92bd7c79fb72e2f2b8f80c1972d24fc",
        id="A.3-256",
    ),
]

# RFC 8269 Appendix A.2: SRTP with a zero salt, so the nonce is the published IV, the AAD is
# the RTP header and the plaintext the RTP payload; the SRTP payload is ciphertext || tag.
RFC8269_IV = bytes.fromhex("000020e8f5eb00000000315e")
RFC8269_AAD = bytes.fromhex("8008315ebf2e6fe020e8f5eb")
RFC8269_PLAINTEXT = bytes.fromhex(
    "f57af5fd4ae19562976ec57a5a7ad55a5af5c5e5c5fdf5c55ad57a4a7272d572"
    "62e9729566ed66e97ac54a4a5a7ad5e15ae5fdd5fd5ac5d56ae56ad5c572d54a"
    "e54ac55a956afd6aed5a4ac562957a9516991691d572fd14e97ae962ed7a9f4a"
    "955af572e162f57a956666e17ae1f54a95f566d54a66e16e4afd6a9f7ae1c5c5"
    "5ae5d56afde916c5e94a6ec56695e14afde1148416e94ad57ac5146ed59d1cc5"
)
RFC8269_A21_KEY = bytes.fromhex("e91e5e75da65554a48181f3846349562")
RFC8269_A21_SEALED = bytes.fromhex(
    "4d8a9a0675550c704b17d8c9ddc81a5cd6f7da34f2fe1b3db7cb3dfb9697102e"
    "a0f3c1fc2dbc873d44bceeae8e4442974ba21ff6789d3272613fb9631a7cf3f1"
    "4bacbeb421633a90ffbe58c2fa6bdca534f10d0de0502ce1d531b6336e588782"
    "78531e5c22bc6c85bbd784d78d9e680aa19031aaf89101d669d7a3965c1f7e16"
    "229d7463e0535f4e253f5d18187d40b8ae0f564bd970b5e7e2adfb211e89a953"
    "5abace3f37f5a736f4be984bbffbedc1"
)
RFC8269_A22_KEY = bytes.fromhex("0c5ffd37a11edc42c325287fc0604f2e3e8cd5671a00fe3216aa5eb105783b54")
RFC8269_A22_SEALED = bytes.fromhex(
    "6f9e4bcbc8c85fc0128fb1e4a0a20cb9932ff74581f54fc013dd054b19f99371"
    "425b352d97d3f337b90b63d1b082adeeea9d2d7391897d591b985e55fb50cb53"
    "50cf7d38dc27dda127c078a149c8eb98083d66363a46e3726af217d3a00275ad"
    "5bf772c7610ea4c23006878f0ee69a8397703169a419303f40b72e4573714d19"
    "e2697df61e7c7252e5abc6bade876ac4961bfac4d5e867afca351a48aed52822"
    "e210d6ced2cf430ff841472915e7ef48"
)

KEY = bytes(range(0x40, 0x60))
NONCE = bytes(range(12))


def _flip(data: bytes, index: int) -> bytes:
    out = bytearray(data)
    out[index] ^= 0x01
    return bytes(out)


# --- an independent GCM (SP 800-38D) over the raw ARIA block, for cross-checking ---------


def _gf128_mul(x: int, y: int) -> int:
    # GCM's bit-reflected GF(2^128) product (SP 800-38D, Algorithm 1).
    r = 0xE1 << 120
    z, v = 0, y
    for i in range(127, -1, -1):
        if (x >> i) & 1:
            z ^= v
        v = (v >> 1) ^ r if v & 1 else v >> 1
    return z


def _ghash(h: int, aad: bytes, ct: bytes) -> int:
    def blocks(data: bytes) -> list[bytes]:
        padded = data + bytes(-len(data) % 16)
        return [padded[i : i + 16] for i in range(0, len(padded), 16)]

    y = 0
    lengths = (len(aad) * 8).to_bytes(8, "big") + (len(ct) * 8).to_bytes(8, "big")
    for block in [*blocks(aad), *blocks(ct), lengths]:
        y = _gf128_mul(y ^ int.from_bytes(block, "big"), h)
    return y


def _reference_gcm(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    assert len(nonce) == 12  # the only IV length Sumun uses; J0 = IV || 0^31 || 1
    h = int.from_bytes(aria_ecb_encrypt_block(key, bytes(16)), "big")
    counter = int.from_bytes(nonce + b"\x00\x00\x00\x01", "big")
    keystream = bytearray()
    for i in range(1, (len(plaintext) + 15) // 16 + 1):
        block = (counter & ~0xFFFFFFFF) | ((counter + i) & 0xFFFFFFFF)
        keystream += aria_ecb_encrypt_block(key, block.to_bytes(16, "big"))
    ct = bytes(p ^ k for p, k in zip(plaintext, keystream, strict=False))
    ek_j0 = int.from_bytes(aria_ecb_encrypt_block(key, counter.to_bytes(16, "big")), "big")
    return ct + (ek_j0 ^ _ghash(h, aad, ct)).to_bytes(16, "big")


# --- known answers -------------------------------------------------------------------------


@pytest.mark.parametrize(("key_hex", "ciphertext_hex"), RFC5794_VECTORS)
def test_rfc5794_block_known_answers(key_hex: str, ciphertext_hex: str) -> None:
    block = aria_ecb_encrypt_block(bytes.fromhex(key_hex), bytes.fromhex(RFC5794_PLAINTEXT))
    assert block.hex() == ciphertext_hex


def test_rfc8269_a22_aria_256_gcm_encrypt() -> None:
    sealed = AriaGcm(RFC8269_A22_KEY).encrypt(RFC8269_IV, RFC8269_PLAINTEXT, RFC8269_AAD)
    assert sealed == RFC8269_A22_SEALED


def test_rfc8269_a22_aria_256_gcm_decrypt() -> None:
    plaintext = AriaGcm(RFC8269_A22_KEY).decrypt(RFC8269_IV, RFC8269_A22_SEALED, RFC8269_AAD)
    assert plaintext == RFC8269_PLAINTEXT


@pytest.mark.parametrize(
    ("key", "sealed"),
    [
        pytest.param(RFC8269_A21_KEY, RFC8269_A21_SEALED, id="A.2.1-128"),
        pytest.param(RFC8269_A22_KEY, RFC8269_A22_SEALED, id="A.2.2-256"),
    ],
)
def test_reference_gcm_matches_rfc8269(key: bytes, sealed: bytes) -> None:
    # Pins the cross-check itself, so agreeing with it below means something.
    assert _reference_gcm(key, RFC8269_IV, RFC8269_PLAINTEXT, RFC8269_AAD) == sealed


@settings(max_examples=50, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=12, max_size=12),
    plaintext=st.binary(max_size=200),
    aad=st.binary(max_size=40),
)
def test_matches_independent_gcm(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> None:
    assert AriaGcm(key).encrypt(nonce, plaintext, aad) == _reference_gcm(key, nonce, plaintext, aad)


# --- round trips ----------------------------------------------------------------------------


def test_round_trip_through_new_cipher() -> None:
    cipher = new_cipher(Suite.ARIA_256_GCM, KEY)
    assert isinstance(cipher, AriaGcm)
    assert cipher.suite is Suite.ARIA_256_GCM
    plaintext = b"\xec\x88\x98\xeb\xac\xb8 sovereign gateway" * 50
    sealed = cipher.encrypt(NONCE, plaintext, b"header")
    assert len(sealed) == len(plaintext) + 16
    assert sealed[: len(plaintext)] != plaintext
    assert cipher.decrypt(NONCE, sealed, b"header") == plaintext


@pytest.mark.parametrize(
    ("plaintext", "aad"),
    [(b"", b""), (b"", b"aad only"), (b"no aad", b""), (b"x", b"y")],
    ids=["both-empty", "empty-plaintext", "empty-aad", "one-byte"],
)
def test_empty_and_tiny_inputs_round_trip(plaintext: bytes, aad: bytes) -> None:
    cipher = AriaGcm(KEY)
    sealed = cipher.encrypt(NONCE, plaintext, aad)
    assert len(sealed) == len(plaintext) + 16
    assert cipher.decrypt(NONCE, sealed, aad) == plaintext


def test_large_payload_round_trip() -> None:
    cipher = AriaGcm(KEY)
    plaintext = os.urandom(1 << 20)
    assert cipher.decrypt(NONCE, cipher.encrypt(NONCE, plaintext, b""), b"") == plaintext


def _loose(buffer: bytearray | memoryview) -> bytes:
    # Typed as bytes, but callers holding other buffers (as the AES suite allows) must work.
    return cast(bytes, buffer)


def test_accepts_other_bytes_like_inputs() -> None:
    cipher = AriaGcm(_loose(bytearray(KEY)))
    sealed = cipher.encrypt(
        _loose(bytearray(NONCE)), _loose(memoryview(b"payload")), _loose(bytearray(b"aad"))
    )
    assert sealed == AriaGcm(KEY).encrypt(NONCE, b"payload", b"aad")
    opened = cipher.decrypt(
        _loose(memoryview(NONCE)), _loose(bytearray(sealed)), _loose(memoryview(b"aad"))
    )
    assert opened == b"payload"


@settings(max_examples=50, deadline=None)
@given(
    key=st.binary(min_size=32, max_size=32),
    nonce=st.binary(min_size=12, max_size=12),
    plaintext=st.binary(max_size=2048),
    aad=st.binary(max_size=64),
)
def test_round_trip_property(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> None:
    cipher = AriaGcm(key)
    sealed = cipher.encrypt(nonce, plaintext, aad)
    assert len(sealed) == len(plaintext) + 16
    assert cipher.decrypt(nonce, sealed, aad) == plaintext


# --- tampering: every failure is the same opaque DecryptionError ----------------------------

PLAINTEXT = b"attack at dawn, bring the HSM"
AAD = b"tenant=acme;key=7"


@pytest.fixture
def sealed() -> bytes:
    return AriaGcm(KEY).encrypt(NONCE, PLAINTEXT, AAD)


@pytest.mark.parametrize("index", [0, 10, len(PLAINTEXT) - 1], ids=["first", "middle", "last"])
def test_flipped_ciphertext_bit_fails(sealed: bytes, index: int) -> None:
    with pytest.raises(DecryptionError, match=OPAQUE):
        AriaGcm(KEY).decrypt(NONCE, _flip(sealed, index), AAD)


@pytest.mark.parametrize("index", [-16, -1], ids=["tag-first", "tag-last"])
def test_flipped_tag_bit_fails(sealed: bytes, index: int) -> None:
    with pytest.raises(DecryptionError, match=OPAQUE):
        AriaGcm(KEY).decrypt(NONCE, _flip(sealed, index), AAD)


def test_flipped_aad_bit_fails(sealed: bytes) -> None:
    with pytest.raises(DecryptionError, match=OPAQUE):
        AriaGcm(KEY).decrypt(NONCE, sealed, _flip(AAD, 3))


def test_missing_or_extra_aad_fails(sealed: bytes) -> None:
    cipher = AriaGcm(KEY)
    with pytest.raises(DecryptionError, match=OPAQUE):
        cipher.decrypt(NONCE, sealed, b"")
    with pytest.raises(DecryptionError, match=OPAQUE):
        cipher.decrypt(NONCE, sealed, AAD + b"\x00")


def test_flipped_nonce_bit_fails(sealed: bytes) -> None:
    with pytest.raises(DecryptionError, match=OPAQUE):
        AriaGcm(KEY).decrypt(_flip(NONCE, 11), sealed, AAD)


@pytest.mark.parametrize("keep", [len(PLAINTEXT) + 15, 16, 15, 1, 0])
def test_truncated_input_fails(sealed: bytes, keep: int) -> None:
    with pytest.raises(DecryptionError, match=OPAQUE):
        AriaGcm(KEY).decrypt(NONCE, sealed[:keep], AAD)


def test_appended_byte_fails(sealed: bytes) -> None:
    with pytest.raises(DecryptionError, match=OPAQUE):
        AriaGcm(KEY).decrypt(NONCE, sealed + b"\x00", AAD)


def test_wrong_key_fails(sealed: bytes) -> None:
    with pytest.raises(DecryptionError, match=OPAQUE):
        AriaGcm(_flip(KEY, 31)).decrypt(NONCE, sealed, AAD)


@pytest.mark.parametrize("size", [0, 11, 13, 16])
def test_decrypt_with_bad_nonce_size_is_opaque(sealed: bytes, size: int) -> None:
    # Like the AES suite: a malformed record is just another record that does not decrypt.
    with pytest.raises(DecryptionError, match=OPAQUE):
        AriaGcm(KEY).decrypt(bytes(size), sealed, AAD)


def test_reused_context_never_checks_a_stale_tag() -> None:
    # A thread's context still holds the tag of its last encryption; a forged tag on that very
    # ciphertext must still fail, and the next honest call must still succeed.
    cipher = AriaGcm(KEY)
    sealed = cipher.encrypt(NONCE, PLAINTEXT, AAD)
    with pytest.raises(DecryptionError, match=OPAQUE):
        cipher.decrypt(NONCE, _flip(sealed, -1), AAD)
    with pytest.raises(DecryptionError, match=OPAQUE):
        cipher.decrypt(NONCE, sealed[:-16] + bytes(16), AAD)
    assert cipher.decrypt(NONCE, sealed, AAD) == PLAINTEXT
    assert cipher.encrypt(NONCE, PLAINTEXT, AAD) == sealed


# --- argument checks ------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 16, 24, 31, 33])
def test_bad_key_size_is_value_error(size: int) -> None:
    with pytest.raises(ValueError, match="32-byte key"):
        AriaGcm(bytes(size))


@pytest.mark.parametrize("size", [0, 8, 11, 13, 16])
def test_encrypt_with_bad_nonce_size_is_value_error(size: int) -> None:
    with pytest.raises(ValueError, match="12-byte nonce"):
        AriaGcm(KEY).encrypt(bytes(size), b"data", b"")


def test_ecb_helper_checks_sizes() -> None:
    with pytest.raises(ValueError, match="16, 24 or 32"):
        aria_ecb_encrypt_block(bytes(20), bytes(16))
    with pytest.raises(ValueError, match="16 bytes"):
        aria_ecb_encrypt_block(bytes(16), bytes(15))


# --- threads --------------------------------------------------------------------------------


def test_concurrent_use_of_one_cipher() -> None:
    cipher = AriaGcm(KEY)
    jobs = [
        (i.to_bytes(12, "big"), os.urandom(size), f"job {i}".encode())
        for i, size in enumerate([0, 1, 15, 16, 17, 1024, 4096, 65536] * 2)
    ]
    expected = [cipher.encrypt(nonce, data, aad) for nonce, data, aad in jobs]
    barrier = threading.Barrier(len(jobs))
    failures: list[str] = []

    def worker(index: int) -> None:
        nonce, data, aad = jobs[index]
        barrier.wait()
        for _ in range(50):
            sealed = cipher.encrypt(nonce, data, aad)
            if sealed != expected[index] or cipher.decrypt(nonce, sealed, aad) != data:
                failures.append(f"job {index} produced a wrong result")
                return
            try:
                cipher.decrypt(nonce, _flip(sealed, -1), aad)
            except DecryptionError:
                pass
            else:
                failures.append(f"job {index} accepted a forged tag")
                return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []


# --- hygiene --------------------------------------------------------------------------------


def test_repr_and_errors_never_show_the_key(sealed: bytes) -> None:
    cipher = AriaGcm(KEY)
    for text in (repr(cipher), str(cipher)):
        assert KEY.hex() not in text.lower()
        assert "ARIA-256-GCM" in text
    with pytest.raises(DecryptionError) as info:
        cipher.decrypt(NONCE, _flip(sealed, 0), AAD)
    assert KEY.hex() not in str(info.value).lower()
    assert not hasattr(cipher, "__dict__")


@pytest.fixture
def unbound() -> Iterator[None]:
    """Forget the process-wide libcrypto binding for one test, and again after it."""
    aria._load.cache_clear()
    yield
    aria._load.cache_clear()


@pytest.mark.usefixtures("unbound")
def test_missing_libcrypto_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda _name: "libsumun-nope.so.0")
    with pytest.raises(ConfigError, match="ARIA-256-GCM is not available"):
        AriaGcm(KEY)


@pytest.mark.usefixtures("unbound")
def test_libcrypto_without_evp_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # libc loads fine but has none of the EVP symbols, like a libcrypto older than 3.0.
    monkeypatch.setattr(ctypes.util, "find_library", lambda _name: "libc.so.6")
    with pytest.raises(ConfigError, match="OpenSSL 3 is required"):
        AriaGcm(KEY)
