"""Shamir secret sharing over GF(2^8), and the custodian share text format.

Splitting
    Each byte of the secret is the constant term of its own random polynomial of degree
    `threshold - 1` over GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1
    (0x11B, FIPS-197 §4.2). Share number i (1..n) holds every polynomial evaluated at x = i.
    Any `threshold` shares rebuild the secret by Lagrange interpolation at x = 0; fewer reveal
    nothing about it (Shamir, "How to share a secret", CACM 1979).

Share text (what a custodian keeps on paper and types back)
    bytes:  version (1) = 1 | set_id (4) | threshold (1) | index (1) | value (len(secret))
            | checksum (4) = the first 4 bytes of SHA-256 over everything before it
    text:   "sumun1-" + RFC 4648 base32 of those bytes, upper case, without "=" padding,
            in groups of 5 characters separated by "-"

    A 32-byte master key gives 43 bytes, 69 base32 characters, 14 groups:
        sumun1-AEXXX-XXXXX-...-XXXX

    Reading a share back forgives what people do when typing: any case, spaces or line breaks,
    missing or extra hyphens (and the look-alike dashes word processors substitute), full-width
    characters from an East Asian input method, and the digits 0, 1 and 8 — which base32 never
    uses — for the letters O, I and B they are mistaken for. A share whose checksum fails is
    refused as mistyped; a share of the wrong length or from another format is refused with its
    own message. `set_id` is 4 random bytes naming one `sumun init`, so shares of different
    deployments (or of a re-initialised one) are never combined by mistake.

Naming a bad share (`recover`)
    A share can pass its checksum and still be wrong: damaged and re-typed consistently, or
    forged by a custodian who recomputed the checksum. Plain Shamir cannot tell which share is
    wrong, so `recover` is given a way to recognise the right secret (Sumun's `mk_check`, an
    HMAC under the master key stored at init) and searches: it rebuilds the secret from
    `threshold`-sized subsets of the offered shares, in order, until one passes the check.
    Shares of a subset that passes are all genuine — a wrong value in any of them changes the
    rebuilt secret, since every Lagrange weight at x = 0 is non-zero — so that subset fixes the
    true polynomial, and every other offered share not on it is named as wrong. With exactly
    `threshold` shares a failure can only say that one or more is wrong; one more share is
    enough to name a single bad one. The search is bounded (`MAX_SUBSETS`: C(n, k) grows
    quickly, C(20, 10) = 184756), after which it gives up and says so.

    Chosen over a verifiable scheme (Feldman VSS, which publishes commitments to the polynomial
    so each share can be checked alone) because it needs no new share format: every share
    already printed keeps working, and the check value already exists. The price is that a bad
    share is found only when more than `threshold` shares are offered, not on its own.

Not constant-time: Python cannot promise that, and the table look-ups below are indexed by
secret bytes. That is acceptable here because splitting and combining happen once, at
`sumun init` and `sumun unseal`, on the operator's machine, where nobody can time many runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import math
import os
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sumun.errors import UnsealError, UsageError

__all__ = [
    "FORMAT_VERSION",
    "MAX_SHARES",
    "MAX_SUBSETS",
    "SET_ID_SIZE",
    "Recovery",
    "Share",
    "combine",
    "decode_share",
    "encode_share",
    "recover",
    "split",
]

FORMAT_VERSION = 1
SET_ID_SIZE = 4
MAX_SHARES = 255  # x-coordinates are the non-zero field elements; there are 255 of them
# How many subsets `recover` tries before giving up. A try costs about k² field operations
# (0.02 ms for k = 3, 0.2 ms for k = 10, 40 ms for k = 128 in CPython), so the bound is
# MAX_SUBSETS, lowered for large k to about _WORK_BUDGET / k² — but never below the number of
# shares offered, which is what one bad share among them needs (at most m tries).
MAX_SUBSETS = 5_000
_WORK_BUDGET = 250_000
_CHECKSUM_SIZE = 4
_HEADER_SIZE = 1 + SET_ID_SIZE + 1 + 1  # version, set_id, threshold, index
_PREFIX = "sumun1-"
_GROUP = 5

# --- GF(2^8) ------------------------------------------------------------------------------

_POLY = 0x11B
_GENERATOR = 0x03  # 0x02 is not a generator for 0x11B; 0x03 is (its powers hit all 255)


def _gf_mul_slow(a: int, b: int) -> int:
    """Multiply in GF(2^8) by the definition: carry-less shift-and-add, reduced by 0x11B.

    Used only to build the tables and, in tests, to check them; it is the reference.
    """
    product = 0
    while b:
        if b & 1:
            product ^= a
        a <<= 1
        if a & 0x100:
            a ^= _POLY
        b >>= 1
    return product


def _build_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    exp = [0] * 255
    log = [0] * 256
    x = 1
    for power in range(255):
        exp[power] = x
        log[x] = power
        x = _gf_mul_slow(x, _GENERATOR)
    if x != 1 or len(set(exp)) != 255:
        raise RuntimeError("GF(2^8) generator does not generate the field")  # pragma: no cover
    return tuple(exp), tuple(log)


# _EXP[i] = g^i and _LOG[g^i] = i, so a·b = g^(log a + log b) for non-zero a, b.
# _LOG[0] is meaningless; zero is handled before every look-up.
_EXP, _LOG = _build_tables()


def _gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[(_LOG[a] + _LOG[b]) % 255]


def _gf_div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(2^8)")
    if a == 0:
        return 0
    return _EXP[(_LOG[a] - _LOG[b]) % 255]


def _gf_inv(a: int) -> int:
    return _gf_div(1, a)


# Addition and subtraction in GF(2^8) are both XOR.


# --- shares -------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Share:
    """One custodian's share. `value` is secret: it MUST NOT appear in logs or messages.

    `set_id` and `index` are public: they name the split and the x-coordinate.
    """

    set_id: bytes
    threshold: int
    index: int
    value: bytes

    def __post_init__(self) -> None:
        problem = _share_problem(self.set_id, self.threshold, self.index, self.value)
        if problem:
            raise ValueError(f"invalid share: {problem}")

    def __repr__(self) -> str:
        return (
            f"Share(set_id={self.set_id.hex()}, threshold={self.threshold}, "
            f"index={self.index}, value=<{len(self.value)} bytes hidden>)"
        )


def _share_problem(set_id: bytes, threshold: int, index: int, value: bytes) -> str | None:
    if len(set_id) != SET_ID_SIZE:
        return f"set_id must be {SET_ID_SIZE} bytes"
    if not 2 <= threshold <= MAX_SHARES:
        return f"threshold must be between 2 and {MAX_SHARES}"
    if not 1 <= index <= MAX_SHARES:
        return f"index must be between 1 and {MAX_SHARES}"
    if not value:
        return "value is empty"
    return None


def _random(rng: Callable[[int], bytes], size: int) -> bytes:
    data = rng(size)
    if len(data) != size:
        raise ValueError(f"rng returned {len(data)} bytes, {size} were asked for")
    return data


def split(
    secret: bytes,
    shares: int,
    threshold: int,
    *,
    rng: Callable[[int], bytes] = os.urandom,
) -> list[Share]:
    """Split `secret` into `shares` shares of which any `threshold` rebuild it.

    Raises `UsageError` unless 2 <= threshold <= shares <= 255 and the secret is non-empty.
    `rng` MUST be a cryptographically secure source in production; tests inject their own.
    """
    if not secret:
        raise UsageError("the secret to split is empty")
    if threshold < 2:
        # With threshold 1 the polynomial is a constant: every share *is* the secret, so
        # "splitting" would hand out n plain copies while looking like custody.
        raise UsageError(
            "a threshold below 2 gives every custodian the whole secret",
            advice="use a threshold of at least 2, or seal with a passphrase for one operator",
        )
    if shares < threshold:
        raise UsageError(
            f"{threshold} shares cannot be required when only {shares} are made",
            advice="make at least as many shares as the threshold",
        )
    if shares > MAX_SHARES:
        raise UsageError(f"at most {MAX_SHARES} shares can be made (GF(256) has 255 x-values)")

    set_id = _random(rng, SET_ID_SIZE)
    degree = threshold - 1
    # Every coefficient, including the leading one, is uniform over the whole field. Forcing
    # the leading coefficient non-zero would make the polynomial non-uniform and leak a little.
    coefficients = _random(rng, len(secret) * degree)
    values = [bytearray(len(secret)) for _ in range(shares)]
    for position, secret_byte in enumerate(secret):
        start = position * degree
        # Highest degree first, for Horner's rule: p(x) = s + x·(c1 + x·(c2 + …)).
        poly = [*reversed(coefficients[start : start + degree]), secret_byte]
        for x, value in enumerate(values, start=1):
            acc = 0
            for coefficient in poly:
                acc = _gf_mul(acc, x) ^ coefficient
            value[position] = acc
    return [
        Share(set_id=set_id, threshold=threshold, index=x, value=bytes(value))
        for x, value in enumerate(values, start=1)
    ]


def _interpolate(points: Sequence[Share], at: int) -> bytes:
    """Evaluate at `at` the polynomial through `points` (distinct indices), byte by byte."""
    result = bytearray(len(points[0].value))
    _interpolate_into(points, at, result)
    return bytes(result)


def _interpolate_into(points: Sequence[Share], at: int, result: bytearray) -> None:
    """`_interpolate` into a zeroed buffer of the value's length, which the caller can wipe."""
    weights = []
    for i, share in enumerate(points):
        numerator, denominator = 1, 1
        for j, other in enumerate(points):
            if i != j:
                numerator = _gf_mul(numerator, at ^ other.index)
                denominator = _gf_mul(denominator, share.index ^ other.index)
        weights.append(_gf_div(numerator, denominator))
    for weight, share in zip(weights, points, strict=True):
        for position, y in enumerate(share.value):
            result[position] ^= _gf_mul(weight, y)


def combine(shares: Sequence[Share]) -> bytes:
    """Rebuild the secret from at least `threshold` shares of one split.

    Raises `UnsealError` for shares of different splits, inconsistent thresholds or lengths, a
    repeated index, or too few shares. Messages number shares by their position in `shares`,
    from 1. Shares beyond the threshold are not ignored: each must lie on the same polynomial,
    so a damaged or forged extra share is refused rather than silently outvoted. Which share
    is wrong, only `recover` can say: it needs a way to recognise the right secret.
    """
    _check_one_split(shares)
    first = shares[0]
    basis = shares[: first.threshold]
    for number, extra in enumerate(shares[first.threshold :], start=first.threshold + 1):
        if not hmac.compare_digest(_interpolate(basis, extra.index), extra.value):
            raise UnsealError(
                f"share {number} does not fit with shares 1 to {first.threshold}; "
                "at least one of them is damaged or forged"
            )
    return _interpolate(basis, 0)


def _check_one_split(shares: Sequence[Share]) -> None:
    """Shares that can be combined at all: one split, distinct indices, enough of them."""
    if not shares:
        raise UnsealError("no shares given")
    first = shares[0]
    for number, share in enumerate(shares[1:], start=2):
        if share.set_id != first.set_id:
            raise UnsealError(
                f"share {number} comes from a different split than share 1 "
                "(another `sumun init`); every share must come from the same one"
            )
        if share.threshold != first.threshold:
            raise UnsealError(
                f"share {number} says {share.threshold} shares are needed but share 1 says "
                f"{first.threshold}; one of them is damaged or forged"
            )
        if len(share.value) != len(first.value):
            raise UnsealError(f"share {number} has a different length than share 1")
    seen: dict[int, int] = {}
    for number, share in enumerate(shares, start=1):
        if share.index in seen:
            raise UnsealError(
                f"share {number} repeats share {seen[share.index]} (both are custodian share "
                f"#{share.index}); each custodian's share counts once"
            )
        seen[share.index] = number
    if len(shares) < first.threshold:
        raise UnsealError(
            f"too few shares: {first.threshold} are needed, {len(shares)} given",
            advice="ask more custodians for their shares",
        )


@dataclass(frozen=True, repr=False)
class Recovery:
    """What `recover` found. Share numbers are positions in the offered order, from 1."""

    secret: bytearray  # the caller's to use and then zero
    used: tuple[int, ...]  # the `threshold` shares that rebuilt it: all genuine
    misfits: tuple[int, ...]  # offered shares that are not on the same polynomial: wrong

    def __repr__(self) -> str:
        return f"Recovery(used={self.used}, misfits={self.misfits}, secret=<hidden>)"


def recover(
    shares: Sequence[Share],
    verify: Callable[[bytearray], bool],
    *,
    what: str = "the secret",
    max_subsets: int | None = None,
) -> Recovery:
    """Rebuild a secret that `verify` accepts from any `threshold` of `shares`, and name the
    offered shares that do not fit it (see "Naming a bad share" above).

    Raises `UnsealError` for shares `combine` refuses as a set, and when no subset passes:
    with exactly `threshold` shares, that one or more is wrong; with more, how many at least;
    past `max_subsets` tries (default: see MAX_SUBSETS), that it gave up. `what` names the
    secret in those messages.
    """
    _check_one_split(shares)
    k, m = shares[0].threshold, len(shares)
    if max_subsets is None:
        max_subsets = max(m, min(MAX_SUBSETS, _WORK_BUDGET // k**2))
    for tried, subset in enumerate(itertools.combinations(range(m), k)):
        if tried == max_subsets:
            raise UnsealError(
                f"gave up after {tried} of the {math.comb(m, k)} ways to choose {k} of these "
                f"{m} shares: none rebuilds {what}",
                advice=f"offer only the shares you are surest of: {k}, plus one to check them",
            )
        basis = [shares[i] for i in subset]
        secret = bytearray(len(basis[0].value))
        _interpolate_into(basis, 0, secret)
        if verify(secret):
            misfits = tuple(
                number
                for number, share in enumerate(shares, start=1)
                if number - 1 not in subset and not _on_polynomial(basis, share)
            )
            return Recovery(secret, tuple(i + 1 for i in subset), misfits)
        secret[:] = bytes(len(secret))
    if m == k:
        raise UnsealError(
            f"these {k} shares do not rebuild {what}: one or more of them is wrong "
            "(damaged, or forged with a valid checksum)",
            advice=f"offer one more custodian's share: with {k + 1}, Sumun can tell which one "
            "is wrong",
        )
    raise UnsealError(
        f"no {k} of these {m} shares rebuild {what}: at least {m - k + 1} of them are wrong",
        advice="offer more custodians' shares; once enough genuine ones are in, every share "
        "that does not fit is named",
    )


def _on_polynomial(basis: Sequence[Share], share: Share) -> bool:
    expected = bytearray(len(share.value))
    _interpolate_into(basis, share.index, expected)
    try:
        return len(expected) == len(share.value) and hmac.compare_digest(expected, share.value)
    finally:
        expected[:] = bytes(len(expected))


# --- text format --------------------------------------------------------------------------

_B32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_VALUES = {ch: value for value, ch in enumerate(_B32_ALPHABET)}
# Base32 has no 0, 1, 8 or 9, so a typed 0, 1 or 8 can only be a misread O, I or B. 9 (g? q?)
# is ambiguous and stays an error.
_CONFUSABLES = {"0": "O", "1": "I", "8": "B"}
# U+2010..U+2015 hyphens and dashes, U+2212 minus, U+FE63 small hyphen-minus: what word
# processors and PDF viewers turn "-" into. (NFKC already folds the full-width U+FF0D.)
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63")
_ADVICE_RETYPE = "compare it with the printed copy group by group and type it again"


def encode_share(share: Share) -> str:
    """The printable text of `share`. It contains the secret share: show it once, never log it."""
    payload = (
        bytes([FORMAT_VERSION]) + share.set_id + bytes([share.threshold, share.index]) + share.value
    )
    raw = payload + hashlib.sha256(payload).digest()[:_CHECKSUM_SIZE]
    body = base64.b32encode(raw).decode("ascii").rstrip("=")
    return _PREFIX + "-".join(body[i : i + _GROUP] for i in range(0, len(body), _GROUP))


def _encoded_length(value_size: int) -> int:
    """Base32 characters (unpadded) for a share whose value is `value_size` bytes."""
    bits = (_HEADER_SIZE + value_size + _CHECKSUM_SIZE) * 8
    return -(-bits // 5)


def decode_share(text: str, *, number: int | None = None, value_size: int | None = None) -> Share:
    """Parse a typed-back share. Whatever the text, an unusable share raises `UnsealError` and
    nothing else; messages never quote the share.

    `number` is how the caller numbers this share in its prompts; messages then say "share 2"
    instead of "share". `value_size`, if given, is the secret's length in bytes (32 for the
    master key): a share with missing or extra characters then gets a message saying how many,
    instead of a generic length or checksum message.
    """
    if value_size is not None and value_size < 1:
        raise ValueError("value_size must be at least 1")
    who = "share" if number is None else f"share {number}"

    # 1. Normalise: NFKC folds full-width letters and digits, then case, spaces and dashes go.
    cleaned = "".join(
        ch
        for ch in unicodedata.normalize("NFKC", text).upper()
        if not ch.isspace() and ch not in _DASHES
    )

    # 2. Prefix and format version. "1" may have been typed as I or L.
    prefix = _PREFIX.rstrip("-").upper()  # "SUMUN1"
    if not cleaned.startswith(prefix[:-1]):
        raise UnsealError(f"{who} does not start with '{_PREFIX}': it is not a Sumun share")
    version = cleaned[len(prefix) - 1 : len(prefix)]
    if version not in {"1", "I", "L"}:
        if version in set("023456789"):
            raise UnsealError(
                f"{who} is in share format {version}, which this Sumun cannot read",
                advice="use the Sumun version that made the shares, or a newer one",
            )
        raise UnsealError(f"{who} does not start with '{_PREFIX}': it is not a Sumun share")
    body = cleaned[len(prefix) :]

    # 3. Characters. Positions are reported as printed groups, never the characters themselves.
    symbols = []
    for position, ch in enumerate(body):
        symbol = _B32_VALUES.get(_CONFUSABLES.get(ch, ch))
        if symbol is None:
            raise UnsealError(
                f"{who} has a character that cannot appear in a share, in group "
                f"{position // _GROUP + 1} (shares use only the letters A-Z and digits 2-7)",
                advice=_ADVICE_RETYPE,
            )
        symbols.append(symbol)

    # 4. Length.
    if value_size is not None and len(symbols) != _encoded_length(value_size):
        expected = _encoded_length(value_size)
        difference = len(symbols) - expected
        how = f"{difference} too many" if difference > 0 else f"{-difference} too few"
        raise UnsealError(
            f"{who} has the wrong length: {how} characters "
            f"({expected} expected after '{_PREFIX}', {len(symbols)} typed)",
            advice=_ADVICE_RETYPE,
        )
    raw, spare_bits, spare_value = _base32_to_bytes(symbols)
    minimum = _HEADER_SIZE + 1 + _CHECKSUM_SIZE
    if spare_bits >= 5 or len(raw) < minimum:
        # No number of whole bytes encodes to this many characters (or too few for a share).
        raise UnsealError(
            f"{who} has the wrong length: a character is missing or extra",
            advice=_ADVICE_RETYPE,
        )

    # 5. Checksum. The unused low bits of the last character must be zero in a real share.
    payload, checksum = raw[:-_CHECKSUM_SIZE], raw[-_CHECKSUM_SIZE:]
    expected_checksum = hashlib.sha256(payload).digest()[:_CHECKSUM_SIZE]
    if spare_value != 0 or not hmac.compare_digest(checksum, expected_checksum):
        raise UnsealError(f"{who} looks mistyped: checksum mismatch", advice=_ADVICE_RETYPE)

    # 6. Fields. Past the checksum, a bad field means a forged share or a bug, not a typo.
    if payload[0] != FORMAT_VERSION:
        raise UnsealError(
            f"{who} is in share format {payload[0]}, which this Sumun cannot read",
            advice="use the Sumun version that made the shares, or a newer one",
        )
    set_id = payload[1 : 1 + SET_ID_SIZE]
    threshold, index = payload[1 + SET_ID_SIZE], payload[2 + SET_ID_SIZE]
    value = payload[_HEADER_SIZE:]
    problem = _share_problem(set_id, threshold, index, value)
    if problem:
        raise UnsealError(f"{who} is malformed: {problem}")
    return Share(set_id=set_id, threshold=threshold, index=index, value=value)


def _base32_to_bytes(symbols: Sequence[int]) -> tuple[bytes, int, int]:
    """RFC 4648 base32 without padding: (bytes, count of spare bits, value of spare bits).

    Written out rather than `base64.b32decode` so the spare bits can be checked: a strict
    reading is what lets a changed last character fail the checksum step.
    """
    out = bytearray()
    buffer, bits = 0, 0
    for symbol in symbols:
        buffer = (buffer << 5) | symbol
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((buffer >> bits) & 0xFF)
    buffer &= (1 << bits) - 1
    return bytes(out), bits, buffer
