"""sumun.xks.authz: allow-lists from requestMetadata; every covering rule must allow."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sumun.xks.authz import RuleDeniedError, XksRule, XksRules, authorize
from sumun.xks.errors import AccessDeniedError
from sumun.xks.model import RequestMetadata

ALICE = "arn:aws:iam::111122223333:role/app-alice"
KEY_ARN = "arn:aws:kms:ap-northeast-2:111122223333:key/1234"


def meta(**over: str | None) -> RequestMetadata:
    fields: dict[str, str | None] = {
        "kms_operation": "Decrypt",
        "kms_request_id": "r-1",
        "aws_principal_arn": ALICE,
        "kms_key_arn": KEY_ARN,
        "kms_via_service": "s3.ap-northeast-2.amazonaws.com",
    }
    fields.update(over)
    return RequestMetadata(**fields)  # type: ignore[arg-type]


def rules(*items: dict[str, object]) -> XksRules:
    return XksRules.model_validate({"rules": list(items)})


def check(
    policy: XksRules, m: RequestMetadata, *, key: str = "s3-data", op: str = "Decrypt"
) -> tuple[str, ...]:
    return authorize(policy, keystore="prod", key_id=key, operation=op, metadata=m)  # type: ignore[arg-type]


def test_no_rules_allow_everything() -> None:
    assert check(XksRules(), meta()) == ()


def test_principal_patterns() -> None:
    policy = rules({"id": "xks.account", "principals": ["arn:aws:iam::111122223333:role/app-*"]})
    assert check(policy, meta()) == ("xks.account",)
    with pytest.raises(AccessDeniedError, match=r"rule xks\.account: awsPrincipalArn"):
        check(policy, meta(aws_principal_arn="arn:aws:iam::999999999999:role/app-alice"))
    # `?` is one character, anything else literal (a dot is not a wildcard)
    exact = rules({"id": "xks.one", "principals": ["arn:aws:iam::11112222333?:role/app.alice"]})
    with pytest.raises(RuleDeniedError):
        check(exact, meta())


def test_via_services_and_direct_calls() -> None:
    policy = rules({"id": "xks.s3", "via_services": ["s3.ap-northeast-2.amazonaws.com"]})
    assert check(policy, meta()) == ("xks.s3",)
    with pytest.raises(AccessDeniedError, match="kmsViaService"):
        check(policy, meta(kms_via_service="ebs.ap-northeast-2.amazonaws.com"))
    with pytest.raises(AccessDeniedError, match="not made through an AWS service"):
        check(policy, meta(kms_via_service=None))
    relaxed = rules({"id": "xks.s3", "via_services": ["s3"], "allow_direct": True})
    assert check(relaxed, meta(kms_via_service=None)) == ("xks.s3",)


def test_every_covering_rule_must_allow_and_the_denier_is_named() -> None:
    policy = rules(
        {"id": "xks.account", "keystores": ["prod"], "principals": ["arn:aws:iam::111122223333:*"]},
        {
            "id": "xks.s3-only",
            "keys": ["s3-data"],
            "via_services": ["s3.ap-northeast-2.amazonaws.com"],
        },
        {"id": "xks.other-key", "keys": ["ebs-data"], "principals": ["nobody"]},
    )
    assert check(policy, meta()) == ("xks.account", "xks.s3-only")
    with pytest.raises(RuleDeniedError) as denied:
        check(policy, meta(kms_via_service="ebs"))
    assert denied.value.rule == "xks.s3-only"
    assert denied.value.error_name == "AccessDeniedException" and denied.value.status == 403


def test_operation_scope_and_kms_operations() -> None:
    policy = rules({"id": "xks.no-decrypt", "operations": ["Decrypt"], "principals": ["nobody"]})
    assert check(policy, meta(), op="Encrypt") == ()
    with pytest.raises(RuleDeniedError):
        check(policy, meta(), op="Decrypt")
    ops = rules({"id": "xks.ops", "kms_operations": ["Decrypt", "GenerateDataKey"]})
    assert check(ops, meta()) == ("xks.ops",)
    # A kmsOperation KMS adds later fails a rule that lists kms_operations (the spec allows it)
    with pytest.raises(RuleDeniedError, match="kmsOperation"):
        check(ops, meta(kms_operation="BulkDecrypt"))


def test_key_arns_bind_the_external_key_to_a_kms_key() -> None:
    policy = rules({"id": "xks.bound", "kms_key_arns": [KEY_ARN]})
    assert check(policy, meta()) == ("xks.bound",)
    with pytest.raises(RuleDeniedError, match="kmsKeyArn"):
        check(policy, meta(kms_key_arn=KEY_ARN.replace("1234", "5678")))
    # GetKeyMetadata for CreateKey has no key ARN yet
    assert check(policy, meta(kms_key_arn=None), op="GetKeyMetadata") == ("xks.bound",)


def test_health_is_never_checked() -> None:
    policy = rules({"id": "xks.deny-all", "principals": ["nobody"]})
    assert (
        authorize(
            policy, keystore="prod", key_id=None, operation="GetHealthStatus", metadata=meta()
        )
        == ()
    )


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"rules": [{"id": "X"}]}, "pattern"),
        ({"rules": [{"id": "xks.a"}, {"id": "xks.a"}]}, "duplicate rule id"),
        ({"rules": [{"id": "xks.a", "principals": [""]}]}, "empty values"),
        ({"rules": [{"id": "xks.a", "operations": ["GetHealthStatus"]}]}, "Input should be"),
        ({"rules": [{"id": "xks.a", "principal": ["x"]}]}, "Extra inputs"),
    ],
)
def test_rules_are_validated(bad: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        XksRules.model_validate(bad)


def test_rules_are_frozen_data() -> None:
    rule = XksRule(id="xks.a", principals=("arn:*",))
    with pytest.raises(ValidationError):
        rule.id = "xks.b"
