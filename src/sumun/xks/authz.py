"""Secondary authorization from `requestMetadata` (spec, Authorization; Appendix B).

AWS has already authorized the caller with its own policies; these rules let the organization
say, in its policy file, who may use its keys through AWS — a second lock AWS cannot open:

    xks:
      rules:
        - id: xks.bank-accounts-only          # every rule covering a call must allow it
          keystores: [bank-prod]               # scope: empty = every keystore
          keys: [s3-data]                      # scope: empty = every key
          operations: [Encrypt, Decrypt]       # scope: empty = the three key operations
          principals: ["arn:aws:iam::111122223333:role/*"]    # awsPrincipalArn patterns
          via_services: [s3.ap-northeast-2.amazonaws.com]     # kmsViaService values
          allow_direct: false                  # with via_services: calls not via a service?
          kms_operations: [Decrypt, GenerateDataKey]           # kmsOperation values
          kms_key_arns: ["arn:aws:kms:ap-northeast-2:111122223333:key/*"]

Evaluation is pure and default-allow (the feature is optional): a call is checked against
every rule whose scope covers it, and the first rule it does not satisfy denies it —
`AccessDeniedError` naming that rule, which the ledger entry carries too. Within a rule, each
list given must match (patterns: `*` any run of characters, `?` one; everything else literal).
GetHealthStatus is never checked (the spec excludes it). A `kmsOperation` KMS adds in the
future is allowed unless a rule lists `kms_operations` (then it must be listed: the spec
accepts such calls failing authorization). `kms_key_arns` is checked when the call carries a
`kmsKeyArn` (GetKeyMetadata for CreateKey carries none).
"""

from __future__ import annotations

from sumun.policy.xks_rules import XksRule, XksRules
from sumun.xks.errors import AccessDeniedError
from sumun.xks.model import Operation, RequestMetadata

__all__ = ["RuleDeniedError", "XksRule", "XksRules", "authorize"]


def authorize(
    rules: XksRules,
    *,
    keystore: str,
    key_id: str | None,
    operation: Operation,
    metadata: RequestMetadata,
) -> tuple[str, ...]:
    """The ids of the rules that covered and allowed the call (empty: none applied).

    Raises AccessDeniedError naming the first covering rule the call does not satisfy; its
    `rule` attribute carries the id for the ledger."""
    if operation == "GetHealthStatus" or key_id is None:
        return ()
    applied: list[str] = []
    for rule in rules.rules:
        if not rule.covers(keystore, key_id, operation):
            continue
        why = rule.refusal(
            principal=metadata.aws_principal_arn,
            via_service=metadata.kms_via_service,
            kms_operation=metadata.kms_operation,
            kms_key_arn=metadata.kms_key_arn,
        )
        if why is not None:
            raise RuleDeniedError(rule.id, why)
        applied.append(rule.id)
    return tuple(applied)


class RuleDeniedError(AccessDeniedError):
    """AccessDeniedException from the rule `rule` (the message names it, for the operator's
    CloudWatch logs and the ledger)."""

    def __init__(self, rule: str, why: str) -> None:
        super().__init__(f"denied by secondary authorization rule {rule}: {why}")
        self.rule = rule
