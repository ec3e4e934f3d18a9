"""Hard-coded API keys in code and configuration: detection, and the only way to show one.

Contract: a detected secret leaves this module only as `mask(secret)` — at most a 4-character
prefix and the last 4 characters (`sk-p…9f3a`). `SecretHit` has no field for the raw value, and
`redact(text)` masks every secret in a string before it may become part of a message. Callers
MUST build finding messages from `SecretHit.masked` / `redact`, never from matched text.

Patterns (kept linear — no nested quantifiers — so hostile files cannot stall the scanner):
OpenAI `sk-proj-…`/`sk-svcacct-…`/`sk-admin-…` and legacy `sk-…`; Anthropic `sk-ant-…`; AWS
access key ids `AKIA…`/`ASIA…` (high only with a secret access key within a few lines, else
medium); Google API keys `AIza…`; Hugging Face tokens `hf_…`; Upstage `up_…`; Azure-style 32-hex
keys assigned to a `*KEY*` name; and generic `api_key = "…"`-style assignments whose value is
long and high-entropy. NAVER CLOVA Studio keys have no documented format and are found only by
the generic rule. Placeholders (`sk-xxxxxxxx…`, `your-api-key`, `${OPENAI_API_KEY}`, AWS's
documented example key) are not reported.
"""

from __future__ import annotations

import math
import re
import string
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass

from sumun.scan.model import Severity

__all__ = ["SecretHit", "mask", "message", "redact", "scan"]

_MAX_TEXT = 8 * 1024 * 1024  # callers cap file size; this is a last guard


@dataclass(frozen=True, slots=True)
class _Kind:
    kind: str
    label: str
    provider: str | None
    regex: re.Pattern[str]
    group: int = 0  # the capture group holding the secret


_KINDS: tuple[_Kind, ...] = (
    _Kind(
        "anthropic-api-key",
        "Anthropic API key",
        "anthropic",
        re.compile(r"sk-ant-[A-Za-z0-9_-]{20,200}"),
    ),
    _Kind(
        "openai-api-key",
        "OpenAI API key",
        "openai",
        re.compile(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,200}"),
    ),
    _Kind(
        "sk-api-key",
        "OpenAI-style API key (sk-…)",
        None,
        re.compile(r"sk-(?!ant-|proj-|svcacct-|admin-)[A-Za-z0-9]{20,200}(?![\w-])"),
    ),
    _Kind(
        "google-api-key",
        "Google API key",
        "google-gemini",
        re.compile(r"AIza[0-9A-Za-z_-]{35}(?![\w-])"),
    ),
    _Kind(
        "huggingface-token",
        "Hugging Face token",
        "huggingface",
        re.compile(r"hf_[A-Za-z0-9]{30,80}(?![\w-])"),
    ),
    _Kind(
        "upstage-api-key",
        "Upstage API key",
        "upstage",
        re.compile(r"up_[A-Za-z0-9]{24,80}(?![\w-])"),
    ),
    _Kind(
        "azure-key",
        "Azure-style 32-hex key",
        "azure-openai",
        re.compile(r"""(?i)key["']?\s{0,8}[:=]\s{0,8}["']?([0-9a-f]{32})(?![0-9a-z])"""),
        1,
    ),
    _Kind(
        "aws-secret-access-key",
        "AWS secret access key",
        "aws-bedrock",
        re.compile(
            r"""(?i)aws_?secret_?(?:access_?)?key["']?\s{0,8}[:=]\s{0,8}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"""
        ),
        1,
    ),
)

_GENERIC = _Kind("generic-secret", "API key or token", None, re.compile(r"(?!)"))
_AWS_KEY_ID = re.compile(r"A(?:KIA|SIA)[A-Z0-9]{16}(?![A-Z0-9])")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_WORD = re.compile(r"[\w-]")
_UPPER_DIGIT = re.compile(r"[A-Z0-9]")
_AWS_SECRET_NEARBY = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_PAIR_LINES = 5

# `api_key = "…"`, `"apiKey": "…"`, `SECRET_TOKEN: …` (unquoted only at the start of a line).
# The quoted form starts at the keyword (no leading name part) so the regex stays cheap on
# multi-megabyte files; the line form may only start at a line start.
_SECRET_WORD = (  # a regex naming secret-bearing keys, not a secret
    r"(?:api[_.-]?key|apikey|secret[_.-]?key|client[_.-]?secret|access[_.-]?token|auth[_.-]?token"  # noqa: S105
    r"|bearer[_.-]?token|api[_.-]?token|secret|token)[\w.-]{0,20}"
)
_GENERIC_QUOTED = re.compile(
    rf"""(?i){_SECRET_WORD}["']?\s{{0,8}}[:=]\s{{0,8}}(["'])([^"'\s]{{16,256}})\1"""
)
_GENERIC_LINE = re.compile(
    rf"""(?im)^[ \t]{{0,40}}(?:export[ \t]+)?[\w.-]{{0,40}}{_SECRET_WORD}"""
    rf"""[ \t]{{0,8}}[:=][ \t]{{0,8}}([^"'\s#]{{16,256}})[ \t]*$"""
)
_PLACEHOLDER_WORDS = (
    "your",
    "xxxx",
    "****",
    "<",
    "${",
    "{{",
    "$(",
    "%(",
    "example",
    "placeholder",
    "changeme",
    "change_me",
    "replace",
    "insert",
    "dummy",
    "redacted",
    "process.env",
    "os.environ",
    "getenv",
)
_AWS_DOC_EXAMPLES = ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
_MIN_ENTROPY = 3.3  # bits per character for the generic rule
# Values that name a secret rather than hold one: `ANTHROPIC_API_KEY` (an environment variable),
# `demo-api-key.txt` (a file), `workload-identity-auth` (words). Seen as false positives when
# scanning the official openai and anthropic SDKs.
_NAME_LIKE = re.compile(
    r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[\w.-]+\.(?:txt|json|ya?ml|pem|key|crt|env|ini|cfg|toml)"
    r"|[a-z]+(?:[-_][a-z]+)+"
)
# Two or more capitalised words run together, letters only: how class names are written.
_CLASS_NAME = re.compile(r"(?:[A-Z][a-z]+){2,}")


@dataclass(frozen=True, slots=True)
class SecretHit:
    """A detected secret — masked. There is deliberately no field for the raw value."""

    kind: str
    label: str
    line: int  # 1-based
    masked: str
    severity: Severity
    provider: str | None = None  # jurisdiction-table id of the issuer, when known


def mask(secret: str) -> str:
    """At most a 4-character prefix and the last 4 characters: `sk-p…9f3a`.

    Shorter secrets reveal less (2 + 2 from 10 characters, nothing below that).
    """
    n = len(secret)
    if n >= 16:
        return f"{secret[:4]}…{secret[-4:]}"
    if n >= 10:
        return f"{secret[:2]}…{secret[-2:]}"
    return "…"


def message(hit: SecretHit) -> str:
    """The finding text for a hit: what it is, masked, and what to do."""
    return (
        f"{hit.label} hard-coded ({hit.masked}); move it to a secret store or environment "
        "variable and rotate it"
    )


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_KNOWN_PREFIX = re.compile(
    r"^(?:sk-(?:ant-(?:[a-z]+\d*-)?|proj-|svcacct-|admin-)?|AKIA|ASIA|AIza|hf_|up_)"
)


def _is_placeholder(value: str) -> bool:
    """`sk-xxxxxxxx…`, `hf_000000…`, AWS's documented example key."""
    if value in _AWS_DOC_EXAMPLES or value.endswith("EXAMPLE"):
        return True
    return len(set(_KNOWN_PREFIX.sub("", value))) < 6


def _is_generic_placeholder(value: str) -> bool:
    lowered = value.lower()
    if any(word in lowered for word in _PLACEHOLDER_WORDS):
        return True
    if "://" in value or value.startswith(("/", "./", "~", "urn:")):
        return True  # a URL, a path or a URN, not a credential
    if _NAME_LIKE.fullmatch(value):
        return True  # an environment variable's name, a file name, words joined by - or _
    if _CLASS_NAME.fullmatch(value):
        return True  # a class name (`"tokenizer_class": "TokenizersBackend"`), not a secret
    return _is_placeholder(value) or _entropy(value) < _MIN_ENTROPY


def _looks_like_aws_secret(value: str) -> bool:
    """Base64-ish, mixed case and digits — not a 40-hex commit id."""
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
        and not _is_generic_placeholder(value)
    )


class _Lines:
    def __init__(self, text: str) -> None:
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def line(self, offset: int) -> int:
        return bisect_right(self._starts, offset)


def _spans(text: str, *, unquoted: bool = True) -> list[tuple[int, int, _Kind | None, str]]:
    """(start, end, kind, secret) of every hit; kind None marks an AWS key id.

    `unquoted=False` is for source code: there a bare value after `api_key=` is a name or an
    expression (`api_key=resolved_api_key,`), never a secret — only quoted values count.
    """
    found: list[tuple[int, int, _Kind | None, str]] = []

    def overlaps(start: int, end: int) -> bool:
        return any(s < end and start < e for s, e, _, _ in found)

    for kind in _KINDS:
        for m in kind.regex.finditer(text):
            start, end = m.span(kind.group)
            secret = m.group(kind.group)
            if kind.group == 0 and start > 0 and _WORD.match(text, start - 1):
                continue  # inside a longer token (the regexes start with a literal, for speed)
            if not _is_placeholder(secret) and not overlaps(start, end):
                found.append((start, end, kind, secret))
    for m in _AWS_KEY_ID.finditer(text):
        if m.start() > 0 and _UPPER_DIGIT.match(text, m.start() - 1):
            continue
        if not _is_placeholder(m.group()) and not overlaps(*m.span()):
            found.append((m.start(), m.end(), None, m.group()))
    for start_line, end_line in _candidate_lines(text):
        generic = (
            ((_GENERIC_QUOTED, 2), (_GENERIC_LINE, 1)) if unquoted else ((_GENERIC_QUOTED, 2),)
        )
        for regex, group in generic:
            for m in regex.finditer(text, start_line, end_line):
                start, end = m.span(group)
                secret = m.group(group)
                if not _is_generic_placeholder(secret) and not overlaps(start, end):
                    found.append((start, end, _GENERIC, secret))
    return sorted(found, key=lambda t: t[0])


def _candidate_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of lines naming a key, secret or token — found with str.find, which is far
    faster than a case-insensitive regex over a multi-megabyte file."""
    lowered = text.translate(_ASCII_LOWER)  # keeps offsets, unlike str.lower()
    starts: set[int] = set()
    for word in ("key", "secret", "token"):
        i = lowered.find(word)
        while i != -1:
            starts.add(lowered.rfind("\n", 0, i) + 1)
            nl = lowered.find("\n", i)
            if nl == -1:
                break
            i = lowered.find(word, nl)
    spans = []
    for start in sorted(starts):
        end = text.find("\n", start)
        spans.append((start, len(text) if end == -1 else end))
    return spans


def scan(text: str, *, code: bool = False) -> list[SecretHit]:
    """Every secret in `text`, masked, in order of appearance. `code=True` for source code:
    unquoted `key = value` lines (the .env / YAML / properties form) are not secrets there."""
    text = text[:_MAX_TEXT]
    lines = _Lines(text)
    hits: list[SecretHit] = []
    spans = _spans(text, unquoted=not code)
    secret_lines = [
        lines.line(s) for s, _, k, _ in spans if k is not None and k.kind == "aws-secret-access-key"
    ]
    for start, _end, kind, secret in spans:
        line = lines.line(start)
        if kind is None:
            paired = any(abs(line - other) <= _AWS_PAIR_LINES for other in secret_lines) or any(
                abs(lines.line(m.start()) - line) <= _AWS_PAIR_LINES
                and _looks_like_aws_secret(m.group())
                for m in _AWS_SECRET_NEARBY.finditer(text, max(0, start - 2000), start + 2000)
            )
            hits.append(
                SecretHit(
                    "aws-access-key-id",
                    "AWS access key pair" if paired else "AWS access key id",
                    line,
                    mask(secret),
                    Severity.HIGH if paired else Severity.MEDIUM,
                    "aws-bedrock",
                )
            )
            continue
        hits.append(
            SecretHit(kind.kind, kind.label, line, mask(secret), Severity.HIGH, kind.provider)
        )
    return hits


def redact(text: str) -> str:
    """`text` with every detected secret replaced by its mask (for messages built from input)."""
    out: list[str] = []
    pos = 0
    for start, end, _kind, secret in _spans(text[:_MAX_TEXT]):
        out.append(text[pos:start])
        out.append(mask(secret))
        pos = end
    out.append(text[pos:])
    return "".join(out)
