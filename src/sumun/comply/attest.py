"""Attestations: the documents a person provides for requirements no machine can check.

A document is either uploaded — copied into `$SUMUN_HOME/comply/evidence/`, named by its
SHA-256, so a later edit of the original does not change what was attested — or referenced (a
URL, a document number in the organization's records system). Records live in
`$SUMUN_HOME/comply/attestations.json` (atomic replace under a lock); the CLI also writes each
one to the ledger, metadata only, so an attestation cannot be back-dated or quietly removed.

    {"format": 1, "attestations": [AttestationRecord…]}
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from sumun._fs import atomic_write, private_dir
from sumun.comply.model import AttestationRecord, DocumentRef
from sumun.errors import StateError, UsageError
from sumun.store.documents import Documents, as_documents

__all__ = ["ATTESTATIONS_FILE", "EVIDENCE_DIR", "Attestations", "reference", "store_document"]

ATTESTATIONS_FILE = "comply/attestations.json"
EVIDENCE_DIR = "comply/evidence"
_FORMAT = 1
_MAX_BYTES = 100 * 1024 * 1024
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal[1]
    attestations: tuple[AttestationRecord, ...] = ()


def store_document(home: Path, source: Path) -> DocumentRef:
    """Copy a document into the home's evidence folder; the name carries its SHA-256."""
    if not source.is_file():
        raise UsageError(f"no such document: {source}")
    size = source.stat().st_size
    if size > _MAX_BYTES:
        raise UsageError(f"{source} is larger than 100 MB; reference it instead (--ref)")
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    folder = private_dir(home / EVIDENCE_DIR)
    name = f"{digest[:16]}-{_SAFE.sub('_', source.name)[:80]}"
    target = folder / name
    if not target.exists():
        atomic_write(target, data)
    return DocumentRef(
        name=source.name, kind="file", sha256=digest, stored=f"{EVIDENCE_DIR}/{name}"
    )


def reference(text: str) -> DocumentRef:
    text = text.strip()
    if not text or len(text) > 1000 or any(ord(c) < 32 for c in text):
        raise UsageError("a reference must be 1-1000 printable characters (a URL or doc number)")
    return DocumentRef(name=text, kind="reference")


class Attestations:
    """Attestations of one deployment: a file in SUMUN_HOME, or a shared control-store row."""

    def __init__(self, home: Path | Documents) -> None:
        self._docs = as_documents(home)
        self.path = self._docs.where(ATTESTATIONS_FILE)

    def __repr__(self) -> str:
        return f"<Attestations {self.path}>"

    def _parse(self, body: bytes | None) -> tuple[AttestationRecord, ...]:
        if body is None:
            return ()
        try:
            return _File.model_validate_json(body).attestations
        except ValidationError as exc:
            raise StateError(
                f"the attestation record {self.path} is damaged ({exc.__class__.__name__})",
                advice="restore it from a backup; the ledger records every attestation",
            ) from exc

    def load(self) -> tuple[AttestationRecord, ...]:
        return self._parse(self._docs.read(ATTESTATIONS_FILE))

    def add(self, record: AttestationRecord) -> AttestationRecord:
        def change(old: bytes | None) -> bytes:
            records = (*self._parse(old), record)
            body = {
                "format": _FORMAT,
                "attestations": [r.model_dump(mode="json") for r in records],
            }
            return json.dumps(body, ensure_ascii=False, indent=1).encode()

        self._docs.update(ATTESTATIONS_FILE, change)
        return record
