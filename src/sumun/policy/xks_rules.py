"""The policy file's `xks:` section: secondary authorization of AWS KMS External Key Store
calls from their `requestMetadata` (enforced by `sumun.xks.authz`, docs/xks.md).

Pure typed data and matching, like the rest of `sumun.policy`: a rule covers a scope
(keystores, keys, operations; empty = all) and allow-lists what AWS says about the call
(awsPrincipalArn patterns with `*` and `?`, kmsViaService values, kmsOperation values,
kmsKeyArn patterns).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["KeyOperation", "XksRule", "XksRules"]

_RULE_ID = r"^[a-z][a-z0-9]*(?:[.-][a-z0-9]+)*$"
KeyOperation = Literal["GetKeyMetadata", "Encrypt", "Decrypt"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _pattern(glob: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    )


def _matches(patterns: tuple[re.Pattern[str], ...], value: str | None) -> bool:
    return value is not None and any(p.fullmatch(value) for p in patterns)


class XksRule(_Strict):
    """One allow-list over a scope (module docstring)."""

    id: str = Field(pattern=_RULE_ID)
    keystores: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    operations: tuple[KeyOperation, ...] = ()
    principals: tuple[str, ...] = ()
    via_services: tuple[str, ...] = ()
    allow_direct: bool = False
    kms_operations: tuple[str, ...] = ()
    kms_key_arns: tuple[str, ...] = ()
    reason: str | None = None

    @field_validator("principals", "kms_key_arns", "via_services", "kms_operations")
    @classmethod
    def _no_empty(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v for v in values):
            raise ValueError("empty values match nothing; leave the list out to allow any")
        return values

    @cached_property
    def _principals(self) -> tuple[re.Pattern[str], ...]:
        return tuple(_pattern(p) for p in self.principals)

    @cached_property
    def _key_arns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(_pattern(p) for p in self.kms_key_arns)

    def covers(self, keystore: str, key_id: str, operation: KeyOperation) -> bool:
        return (
            (not self.keystores or keystore in self.keystores)
            and (not self.keys or key_id in self.keys)
            and (not self.operations or operation in self.operations)
        )

    def refusal(
        self,
        *,
        principal: str | None,
        via_service: str | None,
        kms_operation: str,
        kms_key_arn: str | None,
    ) -> str | None:
        """Why this rule does not allow a call with this `requestMetadata`, or None."""
        if self.principals and not _matches(self._principals, principal):
            return "awsPrincipalArn is not allowed"
        if self.via_services:
            if via_service is None:
                if not self.allow_direct:
                    return "calls not made through an AWS service are not allowed"
            elif via_service not in self.via_services:
                return "kmsViaService is not allowed"
        if self.kms_operations and kms_operation not in self.kms_operations:
            return "kmsOperation is not allowed"
        if (
            self.kms_key_arns
            and kms_key_arn is not None
            and not _matches(self._key_arns, kms_key_arn)
        ):
            return "kmsKeyArn is not allowed"
        return None


class XksRules(_Strict):
    """The policy file's `xks:` section."""

    rules: tuple[XksRule, ...] = ()

    @field_validator("rules")
    @classmethod
    def _unique_ids(cls, rules: tuple[XksRule, ...]) -> tuple[XksRule, ...]:
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
        return rules
