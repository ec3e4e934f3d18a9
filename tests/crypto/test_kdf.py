"""Passphrase KDF: scrypt with normalised passphrases and storable parameters."""

from __future__ import annotations

import hashlib
import unicodedata

import pytest

from sumun.crypto import kdf
from sumun.crypto.kdf import ScryptParams, derive_key, new_salt, normalise_passphrase
from sumun.errors import UsageError

FAST = ScryptParams(n=2**10, r=8, p=1)  # 1 MiB: fast enough for tests, same code path
SALT = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
KOREAN = "수문비밀번호"


def test_rfc_7914_known_answer() -> None:
    # RFC 7914 §12, second vector (P="password", S="NaCl", N=1024, r=8, p=16), first 32 of
    # its 64 bytes: scrypt's final PBKDF2 output of 32 bytes is a prefix of the 64-byte one.
    # Through the private helper because "NaCl" is shorter than derive_key's minimum salt.
    expected = "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
    got = kdf._scrypt(b"password", b"NaCl", ScryptParams(n=1024, r=8, p=16))
    assert got.hex() == expected


def test_derive_key_matches_an_independent_scrypt_on_the_nfc_utf8_bytes() -> None:
    expected = hashlib.scrypt(
        unicodedata.normalize("NFC", KOREAN).encode(), salt=SALT, n=2**10, r=8, p=1, dklen=32
    )
    assert derive_key(KOREAN, SALT, FAST) == expected


def test_derivation_is_deterministic_and_32_bytes() -> None:
    key = derive_key("correct horse battery staple", SALT, FAST)
    assert len(key) == 32
    assert derive_key("correct horse battery staple", SALT, FAST) == key


def test_salt_matters() -> None:
    other_salt = bytes(16)
    assert derive_key("passphrase", SALT, FAST) != derive_key("passphrase", other_salt, FAST)


def test_params_matter() -> None:
    assert derive_key("passphrase", SALT, FAST) != derive_key(
        "passphrase", SALT, ScryptParams(n=2**11, r=8, p=1)
    )


def test_passphrase_matters() -> None:
    assert derive_key("passphrase", SALT, FAST) != derive_key("passphrasf", SALT, FAST)


def test_nfc_and_nfd_korean_derive_the_same_key() -> None:
    composed = unicodedata.normalize("NFC", KOREAN)
    decomposed = unicodedata.normalize("NFD", KOREAN)
    assert composed != decomposed  # really different code points: 6 syllables vs 15 jamo
    assert len(decomposed) > len(composed)
    assert derive_key(composed, SALT, FAST) == derive_key(decomposed, SALT, FAST)


def test_non_ascii_spaces_count_as_spaces() -> None:
    # RFC 8265 §4.2.1: a Korean IME in full-width mode types U+3000, a word processor U+00A0.
    plain = derive_key("수문 비밀 번호", SALT, FAST)
    assert derive_key("수문\u3000비밀\u00a0번호", SALT, FAST) == plain


def test_compatibility_forms_are_not_folded() -> None:
    # NFC, not NFKC: full-width letters stay distinct characters.
    assert derive_key("ＡＢＣ123", SALT, FAST) != derive_key("ABC123", SALT, FAST)


@pytest.mark.parametrize("empty", ["", " ", "\u3000", "\t\n"])
def test_empty_passphrase_is_refused(empty: str) -> None:
    with pytest.raises(UsageError, match=r"the passphrase is empty"):
        derive_key(empty, SALT, FAST)


def test_unencodable_passphrase_is_refused_without_echoing_it() -> None:
    with pytest.raises(UsageError, match=r"not text") as caught:
        derive_key("abc\udc80def", SALT, FAST)
    assert "abc" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_normalise_passphrase_is_public_for_confirm_prompts() -> None:
    assert normalise_passphrase(unicodedata.normalize("NFD", KOREAN)) == KOREAN


def test_short_salt_is_refused() -> None:
    with pytest.raises(ValueError, match=r"salt must be at least 16 bytes"):
        derive_key("passphrase", SALT[:15], FAST)


def test_new_salt() -> None:
    assert len(new_salt()) == 16
    assert new_salt() != new_salt()
    assert new_salt(lambda n: b"\x07" * n) == b"\x07" * 16
    with pytest.raises(ValueError, match=r"rng returned 3 bytes"):
        new_salt(lambda n: b"abc")


def test_defaults_are_the_documented_ones() -> None:
    params = ScryptParams()
    assert (params.n, params.r, params.p) == (2**17, 8, 1)
    assert params.memory_bytes == 128 * 2**20


def test_params_round_trip_through_a_dict() -> None:
    for params in (ScryptParams(), FAST, ScryptParams(n=2**14, r=16, p=2)):
        stored = params.to_dict()
        assert stored["algorithm"] == "scrypt"
        assert ScryptParams.from_dict(stored) == params


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"algorithm": "scrypt", "n": 1024, "r": 8}, r"exactly: algorithm, n, r, p"),
        ({"algorithm": "scrypt", "n": 1024, "r": 8, "p": 1, "x": 0}, r"exactly"),
        ({"algorithm": "argon2id", "n": 1024, "r": 8, "p": 1}, r"not for scrypt"),
        ({"algorithm": "scrypt", "n": "1024", "r": 8, "p": 1}, r"parameter n must be an integer"),
        ({"algorithm": "scrypt", "n": 1024, "r": True, "p": 1}, r"parameter r must be an integer"),
        ({"algorithm": "scrypt", "n": 1000, "r": 8, "p": 1}, r"n must be a power of two"),
        ({"algorithm": "scrypt", "n": 1, "r": 8, "p": 1}, r"n must be a power of two"),
        ({"algorithm": "scrypt", "n": 1024, "r": 0, "p": 1}, r"r >= 1"),
        ({"algorithm": "scrypt", "n": 1024, "r": 8, "p": 17}, r"1 <= p <= 16"),
        ({"algorithm": "scrypt", "n": 2**21, "r": 8, "p": 1}, r"more than 1024 MiB"),
    ],
)
def test_from_dict_refuses_what_to_dict_never_writes(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScryptParams.from_dict(data)
