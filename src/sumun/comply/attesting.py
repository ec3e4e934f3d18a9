"""Checking one attestation before it is recorded, wherever it is made.

`sumun comply attest` and `POST /admin/v1/compliance/attestations` both check here that the
requirement exists and takes an attestation, that a per-app requirement names its app (and a
deployment-wide one does not), and that someone attests to at least one document; and both
record the same ledger attributes (`attest_attrs`: metadata only — document digests, never
their content).
"""

from __future__ import annotations

from collections.abc import Sequence

from sumun.comply.catalog import Catalog
from sumun.comply.model import DocumentRef
from sumun.comply.register import parse_subject
from sumun.errors import UsageError

__all__ = ["attest_attrs", "attestation_subject"]


def attestation_subject(catalog: Catalog, requirement: str, app_ref: str | None) -> str | None:
    """The subject (`tenant/app`, or None for the whole deployment) the attestation is for."""
    req = catalog.get(requirement)
    if req is None:
        raise UsageError(f"no requirement {requirement!r}", advice="`sumun comply catalog`")
    if req.attestation is None:
        raise UsageError(f"{requirement} is checked automatically; it takes no attestation")
    if req.scope.ai == "high-impact":
        if app_ref is None:
            raise UsageError(f"{requirement} is per app: give --app TENANT/APP")
        tenant, app_name = parse_subject(app_ref)
        return f"{tenant}/{app_name}"
    if app_ref is not None:
        raise UsageError(f"{requirement} applies to the whole deployment; drop --app")
    return None


def attest_attrs(
    requirement: str, by: str, documents: Sequence[DocumentRef], subject: str | None
) -> dict[str, str]:
    """The `comply-attest` ledger entry's attributes."""
    if not documents:
        raise UsageError("give at least one document: --file PATH or --ref URL")
    if not by.strip():
        raise UsageError("--by must name the person who attests")
    attrs = {
        "action": "comply-attest",
        "requirement": requirement,
        "by": by,
        "documents": ",".join(d.sha256[:16] if d.sha256 else "ref" for d in documents),
    }
    if subject:
        attrs["app"] = subject
    return attrs
