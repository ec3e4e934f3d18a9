"""Shamir secret sharing over GF(256) and the custodian share text format."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import itertools
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sumun.crypto import shamir
from sumun.crypto.shamir import Share, combine, decode_share, encode_share, split
from sumun.errors import UnsealError, UsageError

B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SECRET = bytes.fromhex("9f0c6d1e2b3a4f5061728394a5b6c7d8e9fa0b1c2d3e4f5a6b7c8d9eafb0c1d2")

byte = st.integers(min_value=0, max_value=255)
nonzero = st.integers(min_value=1, max_value=255)


def seeded(seed: int) -> Callable[[int], bytes]:
    """A deterministic stand-in for os.urandom, so failures reproduce."""
    return random.Random(seed).randbytes


def scripted(*chunks: bytes) -> Callable[[int], bytes]:
    """An rng that returns exactly these chunks, in order."""
    queue = list(chunks)

    def rng(size: int) -> bytes:
        chunk = queue.pop(0)
        assert len(chunk) == size
        return chunk

    return rng


def text_for(payload: bytes) -> str:
    """Encode arbitrary payload bytes with a valid checksum, bypassing Share's validation."""
    raw = payload + hashlib.sha256(payload).digest()[:4]
    body = base64.b32encode(raw).decode().rstrip("=")
    return "sumun1-" + "-".join(body[i : i + 5] for i in range(0, len(body), 5))


# --- GF(2^8) ------------------------------------------------------------------------------


def test_field_multiply_known_answers_from_fips_197() -> None:
    # FIPS-197 §4.2 and §4.2.1.
    assert shamir._gf_mul(0x57, 0x83) == 0xC1
    assert shamir._gf_mul(0x57, 0x13) == 0xFE
    assert shamir._gf_mul_slow(0x57, 0x83) == 0xC1
    # FIPS-197 §5.1.1: the S-box starts from the inverse; {53}^-1 = {CA}.
    assert shamir._gf_inv(0x53) == 0xCA


def test_table_multiply_matches_the_definition_everywhere() -> None:
    for a in range(256):
        for b in range(256):
            assert shamir._gf_mul(a, b) == shamir._gf_mul_slow(a, b), (a, b)


def test_division_by_zero_is_refused() -> None:
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        shamir._gf_div(7, 0)


@given(byte, byte)
def test_multiplication_commutes(a: int, b: int) -> None:
    assert shamir._gf_mul(a, b) == shamir._gf_mul(b, a)


@given(byte, byte, byte)
def test_multiplication_associates(a: int, b: int, c: int) -> None:
    mul = shamir._gf_mul
    assert mul(mul(a, b), c) == mul(a, mul(b, c))


@given(byte, byte, byte)
def test_multiplication_distributes_over_addition(a: int, b: int, c: int) -> None:
    mul = shamir._gf_mul
    assert mul(a, b ^ c) == mul(a, b) ^ mul(a, c)


@given(byte, nonzero)
def test_division_undoes_multiplication(a: int, b: int) -> None:
    assert shamir._gf_div(shamir._gf_mul(a, b), b) == a
    assert shamir._gf_mul(shamir._gf_div(a, b), b) == a


@given(nonzero)
def test_every_nonzero_element_has_an_inverse(a: int) -> None:
    assert shamir._gf_mul(a, shamir._gf_inv(a)) == 1
    assert shamir._gf_mul(a, 1) == a
    assert shamir._gf_mul(a, 0) == 0


# --- split / combine ----------------------------------------------------------------------


def test_split_known_answer() -> None:
    # Worked by hand: p(x) = 0x2A + 0x03·x, so p(1) = 0x29, p(2) = 0x2A ^ 0x06 = 0x2C,
    # p(3) = 0x2A ^ (0x03·0x03 = x^2 + 1 = 0x05) = 0x2F.
    shares = split(b"\x2a", 3, 2, rng=scripted(b"\x01\x02\x03\x04", b"\x03"))
    assert [(s.index, s.value) for s in shares] == [(1, b"\x29"), (2, b"\x2c"), (3, b"\x2f")]
    assert {s.set_id for s in shares} == {b"\x01\x02\x03\x04"}
    assert {s.threshold for s in shares} == {2}
    assert combine(shares[1:]) == b"\x2a"


@pytest.mark.parametrize(
    ("threshold", "count"),
    [(2, 2), (2, 3), (3, 5), (5, 9), (10, 10), (2, 255), (3, 255), (255, 255)],
)
def test_round_trip(threshold: int, count: int) -> None:
    shares = split(SECRET, count, threshold, rng=seeded(threshold * 1000 + count))
    assert len(shares) == count
    assert [s.index for s in shares] == list(range(1, count + 1))
    assert combine(shares[:threshold]) == SECRET
    assert combine(shares[-threshold:]) == SECRET
    picked = random.Random(count).sample(shares, threshold)
    assert combine(picked) == SECRET
    assert combine(shares) == SECRET  # extra shares are checked, not in the way


def test_round_trip_with_the_real_rng() -> None:
    shares = split(SECRET, 5, 3)
    assert combine([shares[4], shares[0], shares[2]]) == SECRET


def test_every_subset_of_a_3_of_5_behaves() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(35))
    for size in range(1, 6):
        for subset in itertools.combinations(shares, size):
            if size >= 3:
                assert combine(subset) == SECRET
            else:
                with pytest.raises(UnsealError, match=r"too few shares: 3 are needed"):
                    combine(subset)


def test_two_shares_of_a_3_of_5_say_nothing_even_if_forced() -> None:
    # Lie about the threshold so combine interpolates a line through two points: the result
    # is some value, but not the secret.
    shares = split(SECRET, 5, 3, rng=seeded(53))
    for pair in itertools.combinations(shares, 2):
        forged = [dataclasses.replace(s, threshold=2) for s in pair]
        assert combine(forged) != SECRET


def test_one_share_is_uniform_whatever_the_secret() -> None:
    # Perfect secrecy, exhaustively for 1-byte 2-of-2: as the random coefficient ranges over
    # the field, share 2 takes every value exactly once, for any secret.
    for secret in (0x00, 0x2A, 0xFF):
        seen = set()
        for coefficient in range(256):
            rng = scripted(b"\0\0\0\0", bytes([coefficient]))
            seen.add(split(bytes([secret]), 2, 2, rng=rng)[1].value)
        assert len(seen) == 256


def test_splitting_twice_gives_different_sets() -> None:
    first, second = split(SECRET, 3, 2), split(SECRET, 3, 2)
    assert first[0].set_id != second[0].set_id
    assert first[0].value != second[0].value


@pytest.mark.parametrize(
    ("secret", "count", "threshold", "message"),
    [
        (SECRET, 5, 1, r"threshold below 2 gives every custodian the whole secret"),
        (SECRET, 5, 0, r"threshold below 2"),
        (SECRET, 2, 3, r"3 shares cannot be required when only 2 are made"),
        (SECRET, 256, 3, r"at most 255 shares"),
        (b"", 5, 3, r"secret to split is empty"),
    ],
)
def test_split_refuses_bad_arguments(
    secret: bytes, count: int, threshold: int, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        split(secret, count, threshold)


def test_threshold_1_advice_points_at_the_passphrase() -> None:
    with pytest.raises(UsageError, match=r"passphrase"):
        split(SECRET, 3, 1)


def test_split_refuses_a_short_rng() -> None:
    with pytest.raises(ValueError, match=r"rng returned 3 bytes, 4 were asked for"):
        split(SECRET, 3, 2, rng=lambda n: b"\0" * 3)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"set_id": b"abc"}, r"set_id must be 4 bytes"),
        ({"threshold": 1}, r"threshold must be between 2 and 255"),
        ({"threshold": 256}, r"threshold must be between 2 and 255"),
        ({"index": 0}, r"index must be between 1 and 255"),
        ({"index": 256}, r"index must be between 1 and 255"),
        ({"value": b""}, r"value is empty"),
    ],
)
def test_share_refuses_impossible_fields(fields: dict[str, object], message: str) -> None:
    good: dict[str, object] = {"set_id": b"abcd", "threshold": 2, "index": 1, "value": b"x"}
    with pytest.raises(ValueError, match=message):
        Share(**{**good, **fields})  # type: ignore[arg-type]


def test_combine_refuses_nothing() -> None:
    with pytest.raises(UnsealError, match=r"no shares given"):
        combine([])


def test_combine_refuses_shares_of_two_splits() -> None:
    one = split(SECRET, 3, 2, rng=seeded(1))
    two = split(SECRET, 3, 2, rng=seeded(2))
    with pytest.raises(UnsealError, match=r"share 2 comes from a different split than share 1"):
        combine([one[0], two[1]])


def test_combine_refuses_a_repeated_share() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(3))
    with pytest.raises(
        UnsealError, match=r"share 3 repeats share 1 \(both are custodian share #1\)"
    ):
        combine([shares[0], shares[1], shares[0]])


def test_combine_refuses_too_few() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(4))
    with pytest.raises(UnsealError, match=r"too few shares: 3 are needed, 2 given") as caught:
        combine(shares[:2])
    assert "ask more custodians" in str(caught.value)


def test_combine_refuses_disagreeing_thresholds() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(5))
    forged = dataclasses.replace(shares[1], threshold=2)
    with pytest.raises(UnsealError, match=r"share 2 says 2 shares are needed but share 1 says 3"):
        combine([shares[0], forged, shares[2]])


def test_combine_refuses_different_lengths() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(6))
    short = dataclasses.replace(shares[2], value=shares[2].value[:-1])
    with pytest.raises(UnsealError, match=r"share 3 has a different length than share 1"):
        combine([shares[0], shares[1], short])


def test_combine_refuses_an_extra_share_that_does_not_fit() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(7))
    damaged = dataclasses.replace(shares[3], value=bytes([shares[3].value[0] ^ 1]) + SECRET[1:])
    with pytest.raises(UnsealError, match=r"share 4 does not fit with shares 1 to 3"):
        combine([*shares[:3], damaged])


def test_repr_and_str_hide_the_value() -> None:
    share = split(SECRET, 3, 2, rng=seeded(8))[0]
    text = encode_share(share)
    for shown in (repr(share), str(share), repr([share])):
        assert share.value.hex() not in shown
        assert share.value.hex().upper() not in shown
        assert base64.b32encode(share.value).decode().rstrip("=")[:8] not in shown
        assert text[7:20] not in shown
        assert "32 bytes hidden" in shown
        assert share.set_id.hex() in shown


# --- text format --------------------------------------------------------------------------

KAT_SHARE = Share(set_id=bytes.fromhex("0badf00d"), threshold=3, index=2, value=bytes(range(32)))
KAT_TEXT = (
    "sumun1-AEF23-4ANAM-BAAAI-CAMCA-KBQHB-AEQUC-YMBUH-A6EAR-CIJRI-FIWC4-MBSGQ-3DQOR-4H7X2-4X3O"
)


def test_encoding_known_answer() -> None:
    assert encode_share(KAT_SHARE) == KAT_TEXT
    assert decode_share(KAT_TEXT) == KAT_SHARE


def test_encoding_layout_matches_the_documented_format() -> None:
    text = encode_share(KAT_SHARE)
    assert text.startswith("sumun1-")
    groups = text.removeprefix("sumun1-").split("-")
    assert [len(g) for g in groups] == [5] * 13 + [4]  # 43 bytes -> 69 characters
    body = "".join(groups)
    raw = base64.b32decode(body + "=" * (-len(body) % 8))
    payload, checksum = raw[:-4], raw[-4:]
    assert payload == b"\x01" + bytes.fromhex("0badf00d") + b"\x03\x02" + bytes(range(32))
    assert checksum == hashlib.sha256(payload).digest()[:4]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 16, 32, 33, 64])
def test_encode_decode_round_trip(size: int) -> None:
    for share in split((SECRET * 2)[:size], 4, 3, rng=seeded(size)):
        assert decode_share(encode_share(share)) == share
        assert decode_share(encode_share(share), value_size=size) == share


def test_full_unseal_path_from_text() -> None:
    texts = [encode_share(s) for s in split(SECRET, 5, 3, rng=seeded(9))]
    typed = [decode_share(texts[i], number=n, value_size=32) for n, i in enumerate((4, 1, 3), 1)]
    assert combine(typed) == SECRET


@pytest.mark.parametrize(
    "mangle",
    [
        str.lower,
        lambda t: t.replace("-", " "),
        lambda t: t.replace("-", ""),
        lambda t: t.replace("-", "--"),
        lambda t: "  " + t.replace("-", "\n") + "\t\n",
        lambda t: t.lower().replace("-", " - "),
        lambda t: t[:9] + "-" + t[9:14] + " " + t[14:],  # hyphens in new places
        lambda t: t.replace("-", "\u2013"),  # en dash from a word processor
        lambda t: t.replace("-", "\u2010"),  # Unicode hyphen
        lambda t: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t),  # full width
        lambda t: "SUMUNl" + t[6:],  # the version "1" typed as l
        lambda t: "Sumun I" + t[6:],
    ],
)
def test_decoding_forgives_how_people_type(mangle: Callable[[str], str]) -> None:
    assert decode_share(mangle(KAT_TEXT)) == KAT_SHARE


def test_decoding_maps_digits_base32_never_uses_to_their_look_alike_letters() -> None:
    mapped = {"O": "0", "I": "1", "B": "8"}
    covered: set[str] = set()
    for seed in range(20):
        share = split(SECRET, 3, 2, rng=seeded(seed))[0]
        text = encode_share(share)
        body = text[7:]
        covered |= set(body) & set(mapped)
        typed = text[:7] + "".join(mapped.get(c, c) for c in body)
        assert decode_share(typed) == share
    assert covered == set(mapped)  # each look-alike was exercised at least once


def _same_after_forgiveness(original: str, typed: str) -> bool:
    if original.upper() == typed.upper():
        return True
    return {original, typed} in ({"O", "0"}, {"I", "1"}, {"B", "8"})


def test_every_single_character_substitution_is_caught() -> None:
    share = split(SECRET, 5, 3, rng=seeded(10))[2]
    text = encode_share(share)
    candidates = B32 + "0189-"
    refused = 0
    for position, original in enumerate(text):
        for typed in candidates:
            if _same_after_forgiveness(original, typed):
                continue
            if position == 5 and typed in "IL":  # "sumun1" typed "sumunI": forgiven
                continue
            if original == "-" and typed == "-":
                continue
            variant = text[:position] + typed + text[position + 1 :]
            with pytest.raises(UnsealError) as caught:
                decode_share(variant)
            message = str(caught.value)
            assert not any(group in message for group in text[7:].split("-"))
            refused += 1
    assert refused > 2500  # 89 positions x ~36 substitutions


def test_substitution_in_the_body_says_mistyped() -> None:
    text = KAT_TEXT
    position = 31  # inside group 5
    typed = "A" if text[position] != "A" else "B"
    with pytest.raises(UnsealError, match=r"^share 3 looks mistyped: checksum mismatch"):
        decode_share(text[:position] + typed + text[position + 1 :], number=3)


def test_changed_spare_bits_in_the_last_character_are_caught() -> None:
    # The last of 69 characters carries 4 bits of the checksum and 1 unused bit.
    last = KAT_TEXT[-1]
    flipped = B32[B32.index(last) ^ 1]
    with pytest.raises(UnsealError, match=r"looks mistyped: checksum mismatch"):
        decode_share(KAT_TEXT[:-1] + flipped)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"^share does not start with 'sumun1-': it is not a Sumun share"),
        ("hello", r"does not start with 'sumun1-'"),
        ("sumun-" + KAT_TEXT[7:], r"does not start with 'sumun1-'"),
        ("bitcoin1-" + KAT_TEXT[7:], r"does not start with 'sumun1-'"),
        ("sumun2-" + KAT_TEXT[7:], r"is in share format 2, which this Sumun cannot read"),
        ("sumun1-", r"has the wrong length: a character is missing or extra"),
        ("sumun1-AEF23", r"has the wrong length"),
        (KAT_TEXT + "A", r"has the wrong length: a character is missing or extra"),
        (KAT_TEXT[:20] + "9" + KAT_TEXT[21:], r"cannot appear in a share, in group 3"),
        (KAT_TEXT[:20] + "!" + KAT_TEXT[21:], r"only the letters A-Z and digits 2-7"),
    ],
)
def test_decoding_refuses_with_a_specific_message(text: str, message: str) -> None:
    with pytest.raises(UnsealError, match=message):
        decode_share(text)


def test_number_names_the_share_in_messages() -> None:
    with pytest.raises(UnsealError, match=r"^share 4 does not start with"):
        decode_share("nonsense", number=4)


@pytest.mark.parametrize(("cut", "how"), [(1, "1 too few"), (3, "3 too few"), (-2, "2 too many")])
def test_value_size_gives_a_precise_length_message(cut: int, how: str) -> None:
    body = KAT_TEXT[7:].replace("-", "")
    typed = "sumun1-" + (body[:-cut] if cut > 0 else body + "AB")
    with pytest.raises(UnsealError, match=rf"wrong length: {how} characters \(69 expected"):
        decode_share(typed, value_size=32)


def test_value_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"value_size must be at least 1"):
        decode_share(KAT_TEXT, value_size=0)


def test_a_missing_character_is_refused_even_without_value_size() -> None:
    body = KAT_TEXT[7:].replace("-", "")
    for position in range(len(body)):
        with pytest.raises(UnsealError, match=r"wrong length|looks mistyped"):
            decode_share("sumun1-" + body[:position] + body[position + 1 :])


def test_a_valid_checksum_over_a_future_version_is_refused_as_such() -> None:
    payload = b"\x02" + b"abcd" + b"\x03\x01" + b"x" * 32
    with pytest.raises(UnsealError, match=r"is in share format 2, which this Sumun cannot read"):
        decode_share(text_for(payload))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"\x01abcd\x01\x01", r"malformed: threshold must be between 2 and 255"),
        (b"\x01abcd\x03\x00", r"malformed: index must be between 1 and 255"),
    ],
)
def test_a_valid_checksum_over_impossible_fields_is_refused(header: bytes, message: str) -> None:
    with pytest.raises(UnsealError, match=message):
        decode_share(text_for(header + b"x" * 32))


def test_shares_of_two_splits_are_refused_after_decoding() -> None:
    one = [encode_share(s) for s in split(SECRET, 3, 2, rng=seeded(11))]
    two = [encode_share(s) for s in split(SECRET, 3, 2, rng=seeded(12))]
    with pytest.raises(UnsealError, match=r"different split"):
        combine([decode_share(one[0]), decode_share(two[1])])


@settings(max_examples=500)
@given(st.text())
def test_decoding_arbitrary_text_only_ever_raises_unseal_error(text: str) -> None:
    with contextlib.suppress(UnsealError):
        decode_share(text)


@settings(max_examples=500)
@given(
    st.text(alphabet=B32 + "0189-_ abcxyz!", max_size=120),
    st.sampled_from(["sumun1-", "SUMUN1", "sumunI-", "sumun2-", "sumun", ""]),
    st.none() | st.integers(min_value=1, max_value=64),
)
def test_decoding_share_like_text_only_ever_raises_unseal_error(
    body: str, prefix: str, value_size: int | None
) -> None:
    with contextlib.suppress(UnsealError):
        decode_share(prefix + body, value_size=value_size)


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_decoding_checksummed_garbage_only_ever_raises_unseal_error(payload: bytes) -> None:
    try:
        share = decode_share(text_for(payload))
    except UnsealError:
        return
    assert encode_share(share) == text_for(payload)


# --- naming a bad share (recover) ---------------------------------------------------------


def forge(share: Share, position: int = 0) -> str:
    """What a cheating custodian hands over: one byte of the value changed, and the checksum
    recomputed, so the share text decodes like a genuine one."""
    value = bytearray(share.value)
    value[position] ^= 0x5A
    forged = encode_share(dataclasses.replace(share, value=bytes(value)))
    assert decode_share(forged, value_size=len(SECRET)).value == bytes(value)  # passes decode
    return forged


def is_secret(candidate: bytearray) -> bool:
    return bytes(candidate) == SECRET


@pytest.mark.parametrize("bad", [0, 1, 2, 3])
def test_recover_names_a_forged_share_offered_with_one_more(bad: int) -> None:
    shares = split(SECRET, 5, 3, rng=seeded(40))
    offered = [decode_share(encode_share(s)) for s in shares[:4]]
    offered[bad] = decode_share(forge(shares[bad]))
    found = shamir.recover(offered, is_secret)
    assert bytes(found.secret) == SECRET
    assert found.misfits == (bad + 1,)
    assert bad + 1 not in found.used and len(found.used) == 3


def test_recover_with_exactly_threshold_shares_says_one_more_is_needed() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(41))
    offered = [shares[0], decode_share(forge(shares[1])), shares[2]]
    with pytest.raises(UnsealError, match="these 3 shares do not rebuild the secret") as caught:
        shamir.recover(offered, is_secret)
    assert "one or more of them is wrong" in str(caught.value)
    assert "offer one more custodian's share: with 4" in str(caught.value)


def test_recover_counts_how_many_are_wrong_when_no_quorum_fits() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(42))
    offered = [shares[0], decode_share(forge(shares[1])), decode_share(forge(shares[2], 5))]
    with pytest.raises(UnsealError, match="no 3 of these 4 shares rebuild the secret: at least 2"):
        shamir.recover([*offered, shares[3]], is_secret)
    found = shamir.recover([*offered, shares[3], shares[4]], is_secret)
    assert found.misfits == (2, 3) and bytes(found.secret) == SECRET


def test_recover_gives_up_after_its_bound_and_says_so() -> None:
    shares = split(SECRET, 6, 3, rng=seeded(43))
    offered = [decode_share(forge(shares[0])), *shares[1:]]
    with pytest.raises(UnsealError, match=r"gave up after 2 of the 20 ways to choose 3 of these 6"):
        shamir.recover(offered, is_secret, max_subsets=2)
    assert shamir.recover(offered, is_secret).misfits == (1,)  # the default bound suffices


def test_recover_bounds_its_search_for_large_thresholds() -> None:
    # C(40, 20) subsets would take years; the default bound is about _WORK_BUDGET / k² tries,
    # and never below the number of shares (enough for one bad share among them).
    shares = split(SECRET, 40, 20, rng=seeded(44))
    tries = 0

    def never(candidate: bytearray) -> bool:
        nonlocal tries
        tries += 1
        return False

    with pytest.raises(UnsealError, match=r"gave up after 625 of the 137846528820 ways"):
        shamir.recover(shares, never)
    assert tries == 625 == shamir._WORK_BUDGET // 20**2


def test_recover_refuses_what_combine_refuses() -> None:
    shares = split(SECRET, 5, 3, rng=seeded(45))
    with pytest.raises(UnsealError, match="share 2 repeats share 1"):
        shamir.recover([shares[0], shares[0], shares[1]], is_secret)
    with pytest.raises(UnsealError, match="too few shares"):
        shamir.recover(shares[:2], is_secret)


def test_recovery_repr_hides_the_secret() -> None:
    found = shamir.recover(split(SECRET, 3, 2, rng=seeded(46)), is_secret)
    assert SECRET.hex() not in repr(found) and "hidden" in repr(found)
