"""What a reload reads, and what it reports: the files' bytes and hashes, the policy they name.

The policy is parsed from the very bytes that are hashed, so the SHA-256 a reload records is
the SHA-256 of what it validated and put in force (`sumun.gateway.reload`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sumun.config import Settings, policy_path
from sumun.config_errors import FileProblem, line_of
from sumun.errors import ConfigError, SumunError
from sumun.gateway.admission import Admission
from sumun.gateway.live import Live
from sumun.gateway.policy_source import POLICY_DOCUMENT, PolicySource, parse_document, problems
from sumun.gateway.router import Router
from sumun.gateway.upstream.base import ProviderAdapter
from sumun.policy.rules import DEFAULT_POLICY, Policy
from sumun.runtime import Runtime

if TYPE_CHECKING:
    import yaml

__all__ = ["Outcome", "PolicyRead", "initial_live", "node_name", "read_policy", "sha256_of"]


def sha256_of(body: bytes | None) -> str | None:
    return None if body is None else hashlib.sha256(body).hexdigest()


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a reload did on this node."""

    applied: bool  # False: the files say what is already in force
    changed: tuple[str, ...]
    config_file: str | None
    config_sha256: str | None
    policy_source: str
    policy_sha256: str | None
    ledger_seq: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "changed": list(self.changed),
            "config_file": self.config_file,
            "config_sha256": self.config_sha256,
            "policy_source": self.policy_source,
            "policy_sha256": self.policy_sha256,
            "ledger_seq": self.ledger_seq,
        }


@dataclass(frozen=True, slots=True)
class PolicyRead:
    source: PolicySource
    policy: Policy
    where: str
    body: bytes | None


def read_policy(
    settings: Settings, documents: Any, root: yaml.Node | None, config: str
) -> tuple[PolicyRead | None, list[FileProblem]]:
    """The policy these settings name, parsed from the bytes that are hashed."""
    try:
        source = PolicySource(settings, documents)  # its change stamp, taken before the read
        path = policy_path(settings)
    except ConfigError as exc:
        line, column = line_of(root, ("policy_file",))
        return None, [FileProblem(config, line, column, f"policy_file: {exc.args[0]}")]
    if source.from_file and path is not None:
        where = str(path)
        try:
            body: bytes | None = path.read_bytes()
        except OSError as exc:
            return None, [FileProblem(where, None, None, f"cannot read the policy: {exc}")]
    else:
        where = documents.where(POLICY_DOCUMENT)
        body = documents.read(POLICY_DOCUMENT)
    if body is None:
        return PolicyRead(source, DEFAULT_POLICY, "built-in", None), []
    found = problems(body, where)
    if found:
        return None, [FileProblem(where, p.line, p.column, p.message) for p in found]
    return PolicyRead(source, parse_document(body, where), where, body), []


def initial_live(
    runtime: Runtime,
    router: Router,
    admission: Admission,
    adapters: dict[str, ProviderAdapter],
    policy: PolicySource,
) -> Live:
    """The snapshot the node starts with, with the hashes of the files it was read from."""
    settings = runtime.settings
    config_body = None
    if settings.config_file is not None:
        with contextlib.suppress(OSError):
            config_body = settings.config_file.read_bytes()
    policy_body = None
    with contextlib.suppress(SumunError, OSError):
        path = policy_path(settings)
        if settings.policy_file is not None and path is not None:
            policy_body = path.read_bytes()
        else:
            policy_body = runtime.control.documents.read(POLICY_DOCUMENT)
    return Live(
        settings,
        router,
        admission,
        adapters,
        policy,
        sha256_of(config_body),
        sha256_of(policy_body),
    )
