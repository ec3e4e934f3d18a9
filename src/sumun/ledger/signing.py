"""The ledger's checkpoint signing keys, held by the key layer.

Ed25519 always; ECDSA P-256 in addition for KCMVP deployments (suite ARIA-256-GCM), since
ECDSA is on the KCMVP list and Ed25519 is not. The private keys exist only as envelopes under
the system key `sumun-ledger`, in the document `ledger/signing.json` (a file in `SUMUN_HOME`, or
a row of the shared control store so every node signs as the same log), so they are as
protected — and as revocable — as any tenant data: sealed Sumun, no checkpoints.

    {"format": 1, "name": "<origin>",
     "keys": [{"alg": "ed25519", "vkey": "<signed-note verifier key>", "envelope": "<b64>"}, …]}
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from sumun.crypto.hazmat.aead import Suite
from sumun.errors import LedgerCorruptError
from sumun.keys.envelope import Context
from sumun.keys.service import KeyService
from sumun.ledger.note import EcdsaP256Signer, Ed25519Signer, Signer
from sumun.store.documents import Documents, as_documents

__all__ = ["SYSTEM_KEY", "SigningKeys", "load_or_create"]

SYSTEM_KEY = "sumun-ledger"
_FORMAT = 1
_NAME = "ledger/signing.json"


def _context(alg: str) -> Context:
    return Context("sumun", f"ledger-signing/{alg}", "ledger-signing-key")


@dataclass(frozen=True)
class SigningKeys:
    name: str
    signers: tuple[Signer, ...]

    @property
    def vkeys(self) -> tuple[str, ...]:
        return tuple(s.vkey() for s in self.signers)

    def __repr__(self) -> str:
        return f"<SigningKeys {self.name} {len(self.signers)} signer(s)>"


def _make(alg: str, name: str) -> tuple[Signer, bytes]:
    if alg == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return Ed25519Signer(name, key), raw
    key_ec = ec.generate_private_key(ec.SECP256R1())
    der = key_ec.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return EcdsaP256Signer(name, key_ec), der


def _restore(alg: str, name: str, material: bytes) -> Signer:
    if alg == "ed25519":
        return Ed25519Signer(name, ed25519.Ed25519PrivateKey.from_private_bytes(material))
    key = serialization.load_der_private_key(material, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise LedgerCorruptError("ledger signing key is not an EC key")
    return EcdsaP256Signer(name, key)


def load_or_create(home: Path | Documents, keys: KeyService, name: str) -> SigningKeys:
    """Open the signing keys (needs Sumun unsealed); create them on first use.

    Nodes racing to create them agree on one set: the first writer's document wins and the
    others adopt it (their freshly made keys are dropped unused).
    """
    docs = as_documents(home)
    path = docs.where(_NAME)
    body = docs.read(_NAME)
    if body is not None:
        try:
            raw = json.loads(body)
            entries = raw["keys"]
            stored_name = str(raw["name"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerCorruptError(f"{path} is damaged; restore it from a backup") from exc
        signers = tuple(
            _restore(
                e["alg"],
                stored_name,
                keys.decrypt(base64.b64decode(e["envelope"]), _context(e["alg"])),
            )
            for e in entries
        )
        return SigningKeys(stored_name, signers)
    keys.ensure_key(SYSTEM_KEY, tenant="sumun", actor="sumun")  # nodes may race to make it
    algs = ["ed25519"]
    if keys.settings.keys.suite is Suite.ARIA_256_GCM:
        algs.append("ecdsa-p256")
    made = []
    records = []
    for alg in algs:
        signer, material = _make(alg, name)
        envelope = keys.encrypt(SYSTEM_KEY, material, _context(alg))
        records.append(
            {"alg": alg, "vkey": signer.vkey(), "envelope": base64.b64encode(envelope).decode()}
        )
        made.append(signer)
    made_body = json.dumps({"format": _FORMAT, "name": name, "keys": records}, indent=1).encode()
    stored = docs.update(_NAME, lambda old: made_body if old is None else None)
    if stored != made_body:  # another node created them first: use theirs
        return load_or_create(docs, keys, name)
    return SigningKeys(name, tuple(made))


def public_vkeys(home: Path | Documents) -> tuple[str, ...]:
    """The verifier keys, readable without unsealing (they are public)."""
    docs = as_documents(home)
    path = docs.where(_NAME)
    body = docs.read(_NAME)
    if body is None:
        return ()
    try:
        return tuple(str(e["vkey"]) for e in json.loads(body)["keys"])
    except (ValueError, KeyError, TypeError) as exc:
        raise LedgerCorruptError(f"{path} is damaged; restore it from a backup") from exc
