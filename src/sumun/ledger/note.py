"""Signed notes (c2sp.org/signed-note) and transparency-log checkpoints (c2sp.org/tlog-checkpoint).

A signed note is a UTF-8 text ending in a newline, a blank line, then one or more lines

    — <key name> <base64(4-byte key ID ‖ signature)>

(em dash U+2014, space). A verifier key ("vkey", golang.org/x/mod/sumdb/note) is the text
`<name>+<8 hex digits key ID>+<base64(signature type ‖ public key)>`. Two signature types:

    0x01  Ed25519 (RFC 8032) over the note text;
          key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte public key)[:4]
    0x02  ECDSA with SHA-256 "as implemented by github.com/transparency-dev/witness": the
          public key is the DER SubjectPublicKeyInfo, the signature is ASN.1 DER, and — as the
          spec notes — key ID = SHA-256(SPKI DER)[:4], *without* the name or type byte.
          Only NIST P-256 here (the spec allows P-384/P-521 but says SHOULD be P-256).

This module imports nothing from Sumun but `merkle` (for `VerificationError`): a third party
can verify checkpoints with it alone. Opening a note fails with `VerificationError`; bad
arguments (a malformed vkey, a signer with an invalid name) raise `ValueError`/`TypeError`.
Private keys never appear in a repr, str or error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from sumun.ledger.merkle import VerificationError

__all__ = [
    "ALG_ECDSA",
    "ALG_ED25519",
    "MAX_SIGNATURES",
    "Checkpoint",
    "EcdsaP256Signer",
    "Ed25519Signer",
    "Signer",
    "Verifier",
    "open_checkpoint",
    "open_note",
    "sign_note",
    "verify_checkpoint",
]

ALG_ED25519 = 0x01
ALG_ECDSA = 0x02

MAX_SIGNATURES = 100
"""signed-note §Format: verifiers SHOULD cap the signature count and MUST accept at least 16;
100 is golang.org/x/mod/sumdb/note's cap."""

_SIG_PREFIX = "\u2014 "  # em dash, space
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_TREE_SIZE = (1 << 64) - 1  # RFC 6962 tree sizes are uint64


# -- helpers ---------------------------------------------------------------------------------


def _check_name(name: str) -> None:
    # signed-note §Format: non-empty, no Unicode spaces, no '+'. Control characters are
    # already banned note-wide; refusing them here keeps vkeys single-line too.
    if not isinstance(name, str) or not name:
        raise ValueError("key name must be a non-empty string")
    if "+" in name or any(ch.isspace() or ord(ch) < 0x20 for ch in name):
        raise ValueError(f"key name {name!r} must not contain spaces, '+' or control characters")


def _valid_name(name: str) -> bool:
    try:
        _check_name(name)
    except ValueError:
        return False
    return True


def _has_control(text: str) -> bool:
    """signed-note §Format: no ASCII control characters (below U+0020) other than newline."""
    return any(ord(ch) < 0x20 and ch != "\n" for ch in text)


def _b64decode(text: str) -> bytes:
    """Standard base64 (RFC 4648 §4) with padding; raises ValueError on anything else."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError("not standard base64") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _key_id_ed25519(name: str, public: bytes) -> int:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public).digest()
    return int.from_bytes(digest[:4], "big")


def _key_id_ecdsa(spki_der: bytes) -> int:
    # signed-note §Signature types, 0x02: "the key ID for these signatures is the truncated
    # SHA-256 hash of the DER encoded public key in SPKI format" (witness: keyHashECDSA).
    return int.from_bytes(hashlib.sha256(spki_der).digest()[:4], "big")


def _vkey(name: str, key_id: int, alg: int, public: bytes) -> str:
    return f"{name}+{key_id:08x}+{_b64(bytes([alg]) + public)}"


# -- signers ---------------------------------------------------------------------------------


class Signer(Protocol):
    """A note signer. `sign` MUST return the raw signature (without the key ID prefix)."""

    @property
    def name(self) -> str: ...

    @property
    def key_id(self) -> int: ...

    def sign(self, message: bytes) -> bytes: ...

    def vkey(self) -> str: ...


class Ed25519Signer:
    """Signature type 0x01. Holds the private key; it never leaves through repr or errors."""

    __slots__ = ("_key", "_key_id", "_name", "_public")

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        _check_name(name)
        if not isinstance(key, Ed25519PrivateKey):
            raise TypeError("Ed25519Signer needs an Ed25519PrivateKey")
        self._name = name
        self._key = key
        self._public = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._key_id = _key_id_ed25519(name, self._public)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def vkey(self) -> str:
        return _vkey(self._name, self._key_id, ALG_ED25519, self._public)

    def verifier(self) -> Verifier:
        return Verifier(self._name, self._key_id, ALG_ED25519, self._public)

    def __repr__(self) -> str:
        return f"<Ed25519Signer {self._name}+{self._key_id:08x}>"


class EcdsaP256Signer:
    """Signature type 0x02 on NIST P-256: ECDSA over SHA-256(note text), ASN.1 DER signature.

    For deployments that need an algorithm on a national approved list (e.g. KCMVP), next to
    an Ed25519 signature: tlog-tiles requires an Ed25519 signature for public logs.
    """

    __slots__ = ("_key", "_key_id", "_name", "_public")

    def __init__(self, name: str, key: ec.EllipticCurvePrivateKey) -> None:
        _check_name(name)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("EcdsaP256Signer needs an EllipticCurvePrivateKey")
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"EcdsaP256Signer needs a P-256 key, not {key.curve.name}")
        self._name = name
        self._key = key
        self._public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self._key_id = _key_id_ecdsa(self._public)

    @property
    def name(self) -> str:
        return self._name

    @property
    def key_id(self) -> int:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message, ec.ECDSA(hashes.SHA256()))

    def vkey(self) -> str:
        return _vkey(self._name, self._key_id, ALG_ECDSA, self._public)

    def verifier(self) -> Verifier:
        return Verifier(self._name, self._key_id, ALG_ECDSA, self._public)

    def __repr__(self) -> str:
        return f"<EcdsaP256Signer {self._name}+{self._key_id:08x}>"


# -- verifiers -------------------------------------------------------------------------------

_PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey


@dataclass(frozen=True)
class Verifier:
    """One trusted note key. Construction checks the key parses and `key_id` matches it."""

    name: str
    key_id: int
    alg: int
    public_key: bytes  # after the type byte: 32 raw Ed25519 bytes, or the P-256 SPKI DER
    _key: _PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        key: _PublicKey
        if self.alg == ALG_ED25519:
            if len(self.public_key) != 32:
                raise ValueError("an Ed25519 verifier key is 32 bytes")
            key = Ed25519PublicKey.from_public_bytes(self.public_key)
            expected = _key_id_ed25519(self.name, self.public_key)
        elif self.alg == ALG_ECDSA:
            key = _load_p256(self.public_key)
            expected = _key_id_ecdsa(self.public_key)
        else:
            raise ValueError(f"unknown signature type 0x{self.alg:02x} (known: 0x01, 0x02)")
        if self.key_id != expected:
            raise ValueError(
                f"key ID {self.key_id:08x} does not match the key of {self.name} ({expected:08x})"
            )
        object.__setattr__(self, "_key", key)

    @classmethod
    def from_vkey(cls, text: str) -> Verifier:
        """Parse `<name>+<hex key ID>+<base64(type ‖ key)>`; ValueError if malformed."""
        parts = text.split("+", 2)  # the base64 part may itself contain '+'
        if len(parts) != 3:
            raise ValueError("a verifier key is <name>+<key id>+<base64 key>")
        name, key_id_hex, key_b64 = parts
        if not _KEY_ID_HEX.fullmatch(key_id_hex):
            raise ValueError("the key ID of a verifier key is 8 hex digits")
        raw = _b64decode(key_b64)
        if len(raw) < 2:
            raise ValueError("verifier key material is too short")
        return cls(name, int(key_id_hex, 16), raw[0], raw[1:])

    def vkey(self) -> str:
        return _vkey(self.name, self.key_id, self.alg, self.public_key)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            if isinstance(self._key, Ed25519PublicKey):
                self._key.verify(signature, message)
            else:
                self._key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def _load_p256(der: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(der)
    except ValueError as exc:
        raise ValueError("ECDSA verifier key is not a DER SubjectPublicKeyInfo") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("ECDSA verifier keys must be NIST P-256")
    canonical = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if canonical != der:  # the key ID hashes these bytes: one key, one encoding
        raise ValueError("ECDSA verifier key is not in canonical SPKI DER form")
    return key


# -- signing and opening notes ---------------------------------------------------------------


def sign_note(body: str, signers: Sequence[Signer]) -> str:
    """Sign `body` (the note text, ending in a newline) with every signer, in order."""
    if not signers:
        raise ValueError("sign_note needs at least one signer")
    if not body.endswith("\n"):
        raise ValueError("note text must end with a newline")
    if _has_control(body):
        raise ValueError("note text must not contain control characters other than newline")
    if len(signers) > MAX_SIGNATURES:
        raise ValueError(f"at most {MAX_SIGNATURES} signatures per note")
    message = body.encode()
    seen: set[tuple[str, int]] = set()
    lines: list[str] = []
    for signer in signers:
        ident = (signer.name, signer.key_id)
        _check_name(signer.name)
        if ident in seen:
            raise ValueError(f"two signers share the key {signer.name}+{signer.key_id:08x}")
        seen.add(ident)
        blob = signer.key_id.to_bytes(4, "big") + signer.sign(message)
        lines.append(f"{_SIG_PREFIX}{signer.name} {_b64(blob)}\n")
    return body + "\n" + "".join(lines)


def _malformed(reason: str) -> VerificationError:
    return VerificationError(f"malformed note: {reason}")


def _index_verifiers(verifiers: Sequence[Verifier]) -> dict[tuple[str, int], Verifier]:
    if not verifiers:
        raise ValueError("no verifier keys given: a note can only be trusted against known keys")
    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        if not isinstance(v, Verifier):
            raise TypeError("verifiers must be Verifier objects (see Verifier.from_vkey)")
        other = known.setdefault((v.name, v.key_id), v)
        if other != v:
            raise ValueError(f"ambiguous key {v.name}+{v.key_id:08x}: two different keys")
    return known


def _split_note(note: str | bytes) -> tuple[str, list[str]]:
    """Steps 1-2 of `open_note`: the note text and its signature lines."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("not valid UTF-8") from None
    if _has_control(note):
        raise _malformed("control characters other than newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise _malformed("no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise _malformed("the signature block must be non-empty and end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise _malformed(f"more than {MAX_SIGNATURES} signatures")
    return text, lines


def _parse_signature(number: int, line: str) -> tuple[str, int, bytes]:
    """Step 3 of `open_note`: (key name, key ID, signature) of one signature line."""
    if not line.startswith(_SIG_PREFIX):
        raise _malformed(f"signature line {number} does not start with an em dash and space")
    name, _, sig_b64 = line[len(_SIG_PREFIX) :].partition(" ")
    try:
        blob = _b64decode(sig_b64)
    except ValueError:
        raise _malformed(f"signature line {number} is not base64") from None
    if not _valid_name(name) or len(blob) < 5:
        raise _malformed(f"signature line {number} has a bad key name or is too short")
    return name, int.from_bytes(blob[:4], "big"), blob[4:]


def open_note(note: str | bytes, verifiers: Sequence[Verifier]) -> tuple[str, tuple[str, ...]]:
    """Verify a signed note; return its text and the names of the known keys that signed it.

    Steps (c2sp.org/signed-note):
      1. §Format: valid UTF-8 without control characters other than newline.
      2. §Format: the text is everything up to and including the newline before the *last*
         blank line; the rest is one or more signature lines, each ending in a newline; at
         most MAX_SIGNATURES of them.
      3. §Format: each line is "— <name> <base64>" with a valid name and at least 4+1 bytes.
      4. §Signatures: lines whose (name, key ID) is unknown are ignored; every line of a
         known key must verify, else the whole note is rejected (the spec's SHOULD).
         Identical repeated lines are tolerated (as golang.org/x/mod/sumdb/note does).
      5. §Signatures: at least one known key must have signed it.
    """
    known = _index_verifiers(verifiers)
    # Steps 1-2
    text, lines = _split_note(note)
    message = text.encode()
    verified: list[str] = []
    for number, line in enumerate(lines, start=1):
        # Step 3
        name, key_id, signature = _parse_signature(number, line)
        # Step 4
        verifier = known.get((name, key_id))
        if verifier is None:
            continue
        if not verifier.verify(message, signature):
            raise VerificationError(f"invalid signature for key {name}+{key_id:08x}")
        if name not in verified:
            verified.append(name)
    # Step 5
    if not verified:
        raise VerificationError("note has no valid signature by a known key")
    return text, tuple(verified)


# -- checkpoints -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The note text of a tlog checkpoint (c2sp.org/tlog-checkpoint §Note text)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or _has_control(self.origin):
            raise ValueError("checkpoint origin must be one non-empty line")
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_TREE_SIZE:
            raise ValueError("checkpoint size must be an integer in [0, 2^64)")
        if len(self.root) != 32:
            raise ValueError("checkpoint root must be a 32-byte SHA-256 hash")
        for line in self.extensions:
            if not line or "\n" in line or _has_control(line):
                raise ValueError("checkpoint extension lines must be non-empty single lines")

    def to_body(self) -> str:
        head = f"{self.origin}\n{self.size}\n{_b64(self.root)}\n"
        return head + "".join(f"{line}\n" for line in self.extensions)

    @classmethod
    def from_body(cls, body: str) -> Checkpoint:
        """Parse note text strictly; ValueError names the first rule it breaks."""
        if not body.endswith("\n"):
            raise ValueError("checkpoint text must end with a newline")
        lines = body[:-1].split("\n")
        # §Note text: at least three non-empty lines; extension lines MUST be non-empty.
        if len(lines) < 3:
            raise ValueError("checkpoint text needs origin, size and root lines")
        if any(not line for line in lines):
            raise ValueError("checkpoint lines must not be empty")
        origin, size_text, root_text, *extensions = lines
        # Line 2: ASCII decimal, no leading zeroes (except "0").
        if not _DECIMAL.fullmatch(size_text):
            raise ValueError(f"checkpoint size {size_text!r} is not a canonical decimal")
        size = int(size_text)
        # Line 3: base64 of the 32-byte RFC 6962 root; canonical, so one checkpoint one text.
        try:
            root = _b64decode(root_text)
        except ValueError:
            raise ValueError("checkpoint root is not base64") from None
        if len(root) != 32 or _b64(root) != root_text:
            raise ValueError("checkpoint root is not the canonical base64 of 32 bytes")
        return cls(origin, size, root, tuple(extensions))


def open_checkpoint(
    note: str | bytes, verifiers: Sequence[Verifier], origin: str | None = None
) -> tuple[Checkpoint, tuple[str, ...]]:
    """Verify a checkpoint note; return it and the names of the keys that signed it."""
    text, names = open_note(note, verifiers)
    try:
        checkpoint = Checkpoint.from_body(text)
    except ValueError as exc:
        raise VerificationError(f"malformed checkpoint: {exc}") from exc
    if origin is not None and checkpoint.origin != origin:
        raise VerificationError(
            f"checkpoint is for origin {checkpoint.origin!r}, expected {origin!r}"
        )
    return checkpoint, names


def verify_checkpoint(
    note: str | bytes, verifiers: Sequence[Verifier], origin: str | None = None
) -> Checkpoint:
    """Raise VerificationError unless `note` is a checkpoint signed by a known key."""
    return open_checkpoint(note, verifiers, origin)[0]
