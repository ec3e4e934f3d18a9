"""The code and config analyzers never raise, whatever the bytes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sumun.scan.code import config, patterns, python, secrets
from tests.scan.code.helpers import source

FRAGMENTS = st.sampled_from(
    [
        "import openai\n",
        "from transformers import AutoModel as A\n",
        'A.from_pretrained("org/x", trust_remote_code=True)\n',
        "torch.load(",
        "model: ",
        "base_url=",
        '"https://bedrock-runtime.ap-northeast-2.amazonaws.com"',
        "sk-proj-",
        "AKIA",
        "hf_",
        "{",
        "[",
        '"',
        "'",
        "\\",
        "\n",
        "\x00",
        "(" * 50,
        "é한국어",
        "--trust-remote-code",
        "OPENAI_BASE_URL=",
    ]
)
TEXT = st.one_of(st.text(max_size=400), st.lists(FRAGMENTS, max_size=40).map("".join))
DATA = st.one_of(st.binary(max_size=400), TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(DATA)
def test_python_never_raises(data: bytes) -> None:
    result = python.analyze(source(data, "fuzz.py"))
    assert result.format == "python"


@FAST
@given(DATA, st.sampled_from(["a.js", "a.ts", "A.java", "a.kt", "a.go"]))
def test_patterns_never_raise(data: bytes, path: str) -> None:
    patterns.analyze(source(data, path))


@FAST
@given(
    DATA,
    st.sampled_from(
        [".env", "a.yaml", "a.json", "a.toml", "a.properties", "a.ini", "package.json", "go.mod"]
    ),
)
def test_config_never_raises(data: bytes, path: str) -> None:
    config.analyze(source(data, path))


@FAST
@given(TEXT)
def test_redact_never_grows_a_secret(text: str) -> None:
    redacted = secrets.redact(text)
    for hit in secrets.scan(text):
        assert hit.masked in redacted


def test_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    deep = "x = " + "(" * 5000 + ")" * 5000 + "\n"
    result = python.analyze(source(deep, "deep.py"))
    assert [f.rule for f in result.findings] == ["python.parse-error"]
    for path in ("deep.json", "deep.yaml", "deep.toml"):
        deep_config = config.analyze(source("[" * 100_000, path))
        assert deep_config.findings[0].rule == "config.parse-error", path
