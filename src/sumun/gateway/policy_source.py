"""Where the policy in force comes from, and how a change to it reaches every node.

- `policy_file` set in sumun.yaml: that file, as before (each node reads its own copy; a change
  is picked up when the file's stamp changes and the control generation moves).
- otherwise: the document `policy.yaml` (`sumun.store.documents`) — on one host the file
  `$SUMUN_HOME/policy.yaml` (as before), in a cluster a row of the shared control store.
  `sumun policy apply FILE` validates a policy and stores it there, then announces a control
  change, so every node's watcher swaps it in within the poll interval (`reload`).
- neither: the built-in policy.

A stored policy is validated before it is stored; a node that still cannot parse what it finds
keeps the policy it has and logs why (never falls back to no policy).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from sumun.config import Settings, policy_path, read_policy
from sumun.errors import ConfigError
from sumun.policy.rules import DEFAULT_POLICY, Policy, PolicyError, parse_policy
from sumun.store.documents import Documents

__all__ = ["POLICY_DOCUMENT", "PolicySource", "Problem", "problems"]

log = logging.getLogger(__name__)

POLICY_DOCUMENT = "policy.yaml"


def parse_document(body: bytes, source: str) -> Policy:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source} is not valid UTF-8: {exc}") from exc
    try:
        return parse_policy(text, source=source)
    except PolicyError as exc:
        raise ConfigError(str(exc), advice="fix the policy and apply it again") from exc


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a policy document is refused, at its 1-based line and column when known."""

    line: int | None
    column: int | None
    message: str


_AT = re.compile(r"^(\d+):(\d+): ")


def problems(body: bytes, source: str = POLICY_DOCUMENT) -> tuple[Problem, ...]:
    """Why `body` is not a valid policy (empty: it is), one problem per error, each at the
    line and column `parse_policy` names (its YAML node's mark)."""
    try:
        parse_document(body, source)
    except ConfigError as exc:
        text = exc.args[0] if exc.args else str(exc)
    else:
        return ()
    out: list[Problem] = []
    for raw in str(text).splitlines():
        rest = raw.removeprefix(f"{source}:")
        if rest == raw and out:  # a message continued on the next line
            last = out.pop()
            out.append(Problem(last.line, last.column, f"{last.message} {raw.strip()}"))
            continue
        at = _AT.match(rest)
        if at is None:
            out.append(Problem(None, None, rest.strip()))
            continue
        line, column = int(at.group(1)), int(at.group(2))
        message = rest[at.end() :].strip()
        out.append(Problem(line or None, column or None, message))
    return tuple(out) or (Problem(None, None, "the policy is not valid"),)


class PolicySource:
    def __init__(self, settings: Settings, documents: Documents) -> None:
        self._settings = settings
        self._documents = documents
        self._stamp: object = self.stamp()

    @property
    def from_file(self) -> bool:
        """True when sumun.yaml names a policy file (then `apply` is refused)."""
        return self._settings.policy_file is not None

    def stamp(self) -> object:
        if self.from_file:
            path = policy_path(self._settings)
            return None if path is None else path.stat().st_mtime_ns
        return self._documents.stamp(POLICY_DOCUMENT)

    def load(self) -> Policy:
        self._stamp = self.stamp()
        if self.from_file:
            path = policy_path(self._settings)
            return DEFAULT_POLICY if path is None else read_policy(path)
        body = self._documents.read(POLICY_DOCUMENT)
        if body is None:
            return DEFAULT_POLICY
        return parse_document(body, self._documents.where(POLICY_DOCUMENT))

    def reload(self, install: Callable[[Policy], None]) -> bool:
        """Swap in the policy if it changed since the last load; True when it did."""
        if self.stamp() == self._stamp:
            return False
        try:
            policy = self.load()
        except ConfigError as exc:
            log.error("policy: keeping the policy in force; the new one does not load: %s", exc)
            return False
        install(policy)
        log.warning("policy: now enforcing %s", policy.source)
        return True

    def apply(self, body: bytes) -> Policy:
        """Validate `body` and make it the deployment's policy (the caller announces it)."""
        if self.from_file:
            raise ConfigError(
                f"this deployment reads its policy from {self._settings.policy_file} "
                "(policy_file in sumun.yaml)",
                advice="edit that file on every node, or remove policy_file to use `apply`",
            )
        policy = parse_document(body, self._documents.where(POLICY_DOCUMENT))
        self._documents.update(POLICY_DOCUMENT, lambda _old: body)
        return policy
