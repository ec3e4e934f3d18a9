"""Secret detection and masking: the raw value never leaves the module."""

from __future__ import annotations

import dataclasses
import random
import string

import pytest

from sumun.scan.code import secrets
from sumun.scan.model import Severity

_RNG = random.Random(7)
_ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize(
    ("secret", "masked"),
    [
        ("sk-proj-abcdefghijklmnop9f3a", "sk-p…9f3a"),
        ("0123456789abcdef", "0123…cdef"),
        ("0123456789", "01…89"),
        ("short", "…"),
        ("", "…"),
    ],
)
def test_mask_keeps_at_most_four_and_four(secret: str, masked: str) -> None:
    assert secrets.mask(secret) == masked


def test_mask_never_reveals_more_than_eight_characters() -> None:
    for n in range(40):
        value = _rand(n)
        shown = secrets.mask(value).replace("…", "")
        assert len(shown) <= 8 and len(shown) <= n // 2 + 1


KEYS = {
    "openai-api-key": "sk-" + "proj-" + _rand(48),
    "anthropic-api-key": "sk-" + "ant-api03-" + _rand(90),
    "sk-api-key": "sk-" + _rand(32, "0123456789abcdef"),
    "google-api-key": "AI" + "za" + _rand(35),
    "huggingface-token": "hf" + "_" + _rand(34),
    "upstage-api-key": "up" + "_" + _rand(30),
}


@pytest.mark.parametrize(("kind", "key"), sorted(KEYS.items()))
def test_known_formats_are_high(kind: str, key: str) -> None:
    [hit] = secrets.scan(f'x = 1\nclient = Client(key="{key}")\n')
    assert (hit.kind, hit.severity, hit.line) == (kind, Severity.HIGH, 2)
    assert hit.masked == secrets.mask(key) and key not in secrets.message(hit)


def test_aws_key_id_alone_is_medium_and_with_a_secret_nearby_is_high() -> None:
    key_id = "AK" + "IA" + _rand(16, string.ascii_uppercase + string.digits)
    secret = _rand(20) + "/" + _rand(19)
    [alone] = secrets.scan(f'id = "{key_id}"\n')
    assert (alone.label, alone.severity) == ("AWS access key id", Severity.MEDIUM)
    hits = secrets.scan(f'id = "{key_id}"\n\nsigning("{secret}")\n')
    assert hits[0].label == "AWS access key pair" and hits[0].severity is Severity.HIGH
    named = secrets.scan(f"aws_secret_access_key = {secret}\n")
    assert [h.kind for h in named] == ["aws-secret-access-key"]


def test_azure_hex_key_needs_a_key_name() -> None:
    hexkey = _rand(32, "0123456789abcdef")
    assert [h.kind for h in secrets.scan(f"AZURE_OPENAI_KEY={hexkey}\n")] == ["azure-key"]
    assert secrets.scan(f'checksum = "{hexkey}"\n') == []


def test_generic_assignments_need_entropy_and_no_placeholder() -> None:
    value = _rand(28)
    assert [h.kind for h in secrets.scan(f'api_key = "{value}"\n')] == ["generic-secret"]
    assert [h.kind for h in secrets.scan(f"SERVICE_TOKEN={value}\n")] == ["generic-secret"]
    for benign in (
        'api_key = "your-api-key-goes-here-now"',
        "OPENAI_API_KEY=${OPENAI_API_KEY}",
        'api_key = os.environ["OPENAI_API_KEY"]',
        'token = "aaaaaaaaaaaaaaaaaaaaaaaa"',
        'api_key = "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
        'aws_access_key_id = "AKIAIOSFODNN7EXAMPLE"',
        'token_url = "https://example.com/oauth/token/endpoint"',
        "api_key = short",
    ):
        assert secrets.scan(benign) == [], benign


def test_hits_carry_no_raw_value() -> None:
    fields = {f.name for f in dataclasses.fields(secrets.SecretHit)}
    assert fields == {"kind", "label", "line", "masked", "severity", "provider"}


def test_redact_masks_every_secret_in_a_message() -> None:
    key, token = KEYS["openai-api-key"], KEYS["huggingface-token"]
    text = f"error near {key} and {token}"
    redacted = secrets.redact(text)
    assert key not in redacted and token not in redacted
    assert secrets.mask(key) in redacted and redacted.startswith("error near ")


def test_scanning_a_large_file_is_fast() -> None:
    import time

    text = ("let value = compute(model, 'x');\n" * 120_000) + f'api_key = "{_rand(30)}"\n'
    start = time.perf_counter()
    hits = secrets.scan(text)
    assert time.perf_counter() - start < 3.0
    assert [h.line for h in hits] == [120_001]


# Lines from the official openai/anthropic SDKs and from Sumun itself that named a secret
# without holding one, and were reported as hard-coded keys until the generic rule learned so.
SDK_LINES = [
    "            api_key=resolved_api_key,",
    '    ENV_API_KEY = "ANTHROPIC_API_KEY"',
    'WORKLOAD_IDENTITY_API_KEY_PLACEHOLDER = "workload-identity-auth"',
    'TOKEN_EXCHANGE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"',
    'DEMO_API_KEY = "demo-api-key.txt"',
    "    secret_key=self.secret_key,",
]
# What transformers 5 writes into every tokenizer_config.json: a class name under a key with
# "token" in it.
CONFIG_LINES = [
    '  "tokenizer_class": "TokenizersBackend",',
    "tokenizer_class: PreTrainedTokenizerFast",
]


@pytest.mark.parametrize("line", CONFIG_LINES)
def test_class_names_in_config_are_not_secrets(line: str) -> None:
    assert secrets.scan(line) == []


@pytest.mark.parametrize("line", SDK_LINES)
def test_names_of_secrets_in_code_are_not_secrets(line: str) -> None:
    assert secrets.scan(line, code=True) == []


def test_code_still_reports_a_quoted_random_key() -> None:
    value = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=40))
    hits = secrets.scan(f'api_key = "{value}"', code=True)
    assert [h.kind for h in hits] == ["generic-secret"] and value not in secrets.message(hits[0])


def test_config_lines_may_hold_unquoted_secrets() -> None:
    value = "".join(random.Random(8).choices(string.ascii_letters + string.digits, k=40))
    assert [h.kind for h in secrets.scan(f"MY_SERVICE_TOKEN={value}")] == ["generic-secret"]
    assert secrets.scan(f"    token={value}", code=True) == []  # in code it would be a name
