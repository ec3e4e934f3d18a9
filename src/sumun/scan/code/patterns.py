"""JavaScript/TypeScript, Java/Kotlin and Go sources: AI SDK imports, endpoints, model ids,
regions and secrets — by regular expressions, not by parsing.

This is honest pattern matching: it reads `import`/`require` statements, string literals that are
URLs, and `model:`-style literals. It does not follow variables, string concatenation or
configuration loaded at run time, it can be fooled by code in comments or strings, and it misses
what a real parser for each language would see. The same patterns back the Python analyzer
when a file does not parse (`language="python"`).

Findings: `code.hardcoded-secret` (high; masked), `code.unknown-endpoint` (info),
`<language>.parse-error` (info: not UTF-8, scanned with replacement characters),
`<language>.too-large` (info). In Python fallback mode also `code.trust-remote-code` and
`code.torch-load-unsafe` (high) from their text.

Every regex is linear (bounded repetition, no nested quantifiers): hostile files cannot stall
the scanner.
"""

from __future__ import annotations

import re
import string
from types import MappingProxyType

from sumun.scan.code import secrets
from sumun.scan.code._common import (
    Inventory,
    LineIndex,
    python_distribution,
    read_capped,
    too_large,
    urls_in,
)
from sumun.scan.jurisdiction import ProviderMatch
from sumun.scan.model import FileResult, Finding, Severity, Source

__all__ = ["analyze", "handles", "language_of", "scan_text"]

_LANGUAGES = MappingProxyType(
    {
        ".js": "javascript",
        ".mjs": "javascript",
        ".cjs": "javascript",
        ".jsx": "javascript",
        ".ts": "typescript",
        ".tsx": "typescript",
        ".mts": "typescript",
        ".cts": "typescript",
        ".java": "java",
        ".kt": "kotlin",
        ".kts": "kotlin",
        ".go": "go",
    }
)
_ECOSYSTEM = MappingProxyType(
    {
        "javascript": "npm",
        "typescript": "npm",
        "java": "java",
        "kotlin": "java",
        "go": "go",
        "python": "pypi",
    }
)

_JS_IMPORTS = re.compile(
    r"""\bfrom\s{0,20}["']([^"'\n]{1,200})["']"""
    r"""|\bimport\s{0,20}\(?\s{0,20}["']([^"'\n]{1,200})["']"""
    r"""|\brequire\s{0,20}\(\s{0,20}["']([^"'\n]{1,200})["']"""
)
_JAVA_IMPORTS = re.compile(r"(?m)^[ \t]{0,40}import[ \t]+(?:static[ \t]+)?([\w.]{1,300})")
_GO_IMPORT = re.compile(r"""(?m)^[ \t]{0,40}import[ \t]+(?:[\w.]{1,60}[ \t]+)?"([^"\n]{1,300})\"""")
_GO_IMPORT_BLOCK = re.compile(r"(?m)^[ \t]{0,40}import[ \t]{0,20}\(([^)]{0,20000})\)")
_GO_QUOTED = re.compile(r'"([^"\n]{1,300})"')
_PY_IMPORTS = re.compile(
    r"(?m)^[ \t]{0,40}(?:from[ \t]+([\w.]{1,200})[ \t]+import|import[ \t]+([\w.]{1,200}))"
)

_QUOTE = r"""["'`]"""
# These three run on an ASCII-lower-cased copy of the text and start with a few literal letters
# (no leading \b, no IGNORECASE): that lets the regex engine skip ahead, ~10x faster on large
# minified files. Values are sliced from the original text by span.
_MODEL_LITERALS = re.compile(
    rf"""(?:model|deployment)(?:id|_id|name|_name)?["']?\s{{0,8}}(?::|=|\()\s{{0,8}}"""
    rf"""{_QUOTE}([^"'`\s]{{2,200}}){_QUOTE}"""
    rf"""|generativemodel\s{{0,8}}\(\s{{0,8}}{_QUOTE}([^"'`\s]{{2,200}}){_QUOTE}"""
)
_ENDPOINT_LITERALS = re.compile(
    rf"""(?:base_?ur[il]|endpoint|api_?(?:base|host)|host|server_?url)["']?\s{{0,8}}"""
    rf"""(?::|=|\()\s{{0,8}}{_QUOTE}(https?://[^"'`\s]{{1,300}}){_QUOTE}"""
    rf"""|with(?:baseurl|endpoint)\s{{0,8}}\(\s{{0,8}}"(https?://[^"\s]{{1,300}})\""""
)
_REGION_LITERALS = re.compile(
    rf"""(?:(?:aws_)?region(?:_name)?|location)["']?\s{{0,8}}(?::|=|\(|,)\s{{0,8}}"""
    rf"""{_QUOTE}([a-z]{{2,}}[a-z0-9-]{{2,30}}){_QUOTE}"""
    rf"""|(?:withregion|region\.of)\s{{0,8}}\(\s{{0,8}}"([a-z0-9-]{{4,30}})\""""
)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# SDKs commonly pointed at other providers' compatible endpoints.
_REPOINTABLE = frozenset({"openai", "anthropic"})
_JAVA_REGION_ENUM = re.compile(r"\bRegion\.([A-Z]{2}(?:_[A-Z]+)+_[0-9])\b")
_PY_TRUST = re.compile(r"\btrust_remote_code\s{0,8}[=:]\s{0,8}True\b")
_PY_TORCH_LOAD = re.compile(r"\btorch\.load\s{0,8}\(([^()]{0,600})\)")
_WEIGHTS_ONLY_TRUE = re.compile(r"\bweights_only\s{0,8}=\s{0,8}True\b")


def language_of(path: str) -> str | None:
    """The language of a source file by its extension (text has no magic bytes)."""
    dot = path.rfind(".")
    return _LANGUAGES.get(path[dot:].lower()) if dot >= 0 else None


def handles(path: str) -> bool:
    return language_of(path) is not None


def analyze(source: Source) -> FileResult:
    language = language_of(source.path) or "javascript"
    data, truncated = read_capped(source)
    if truncated:
        return FileResult(language, [too_large(source, f"{language}.too-large")])
    try:
        text = data.decode("utf-8-sig")
        note: Finding | None = None
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        note = source.finding(
            Severity.INFO,
            f"{language}.parse-error",
            f"not valid UTF-8 (byte {exc.start}); scanned with replacement characters",
        )
    result = scan_text(source, text, language)
    if note is not None:
        result.findings.insert(0, note)
    return result


def scan_text(source: Source, text: str, language: str) -> FileResult:
    """Pattern-scan `text` as `language` (javascript, typescript, java, kotlin, go, python)."""
    return _Scan(source, text, language).run()


class _Scan:
    def __init__(self, source: Source, text: str, language: str) -> None:
        self.source = source
        self.text = text
        self.language = language
        self.ecosystem = _ECOSYSTEM.get(language, "npm")
        self.lines = LineIndex(text)
        self.lower = text.translate(_ASCII_LOWER)  # same length: offsets carry over
        self.inventory = Inventory(source.path)
        self.findings: list[Finding] = []

    def run(self) -> FileResult:
        table = self.inventory.table
        packages = self._imports()
        regions = self._regions()
        for package in packages:
            self.inventory.library(self.ecosystem, package)
        endpoint_spans = self._client_endpoints(regions)
        for offset, url in urls_in(self.text):
            if any(start <= offset < end for start, end in endpoint_spans):
                continue
            match = table.by_url(url)
            if match is not None and match.provider.id != "self-hosted":
                self._service(match, regions, endpoint=url, detected_by="endpoint")
        for package in packages:
            match = table.by_package(self.ecosystem, package)
            if match is None or (endpoint_spans and match.provider.id in _REPOINTABLE):
                continue  # an OpenAI/Anthropic SDK pointed elsewhere is not that provider
            self._service(match, regions, detected_by="import")
        self._models()
        if self.language == "python":
            self._python_risks()
        for hit in secrets.scan(self.text, code=True):
            self._finding(hit.severity, "code.hardcoded-secret", secrets.message(hit), hit.line)
        self.findings.sort(key=lambda f: (f.line or 0, f.rule))
        return FileResult(self.language, self.findings, self.inventory.components())

    def _finding(self, severity: Severity, rule: str, message: str, line: int | None) -> None:
        self.findings.append(self.source.finding(severity, rule, message, line=line))

    def _service(
        self,
        match: ProviderMatch,
        regions: list[str],
        *,
        endpoint: str | None = None,
        detected_by: str,
    ) -> None:
        self.inventory.service(match, endpoint=endpoint, detected_by=detected_by)
        for region in regions:
            self.inventory.service(match, detected_by=detected_by, region=region)

    def _imports(self) -> list[str]:
        found: list[str] = []
        if self.language in ("javascript", "typescript"):
            for m in _JS_IMPORTS.finditer(self.text):
                spec = next(g for g in m.groups() if g)
                name = _npm_package(spec)
                if name:
                    found.append(name)
        elif self.language in ("java", "kotlin"):
            found = [m.group(1).rstrip(".") for m in _JAVA_IMPORTS.finditer(self.text)]
        elif self.language == "go":
            found = [m.group(1) for m in _GO_IMPORT.finditer(self.text)]
            for block in _GO_IMPORT_BLOCK.finditer(self.text):
                found.extend(q.group(1) for q in _GO_QUOTED.finditer(block.group(1)))
        elif self.language == "python":
            table = self.inventory.table
            for m in _PY_IMPORTS.finditer(self.text):
                dist = python_distribution(m.group(1) or m.group(2), table)
                if dist:
                    found.append(dist)
        return list(dict.fromkeys(found))

    def _group(self, m: re.Match[str]) -> tuple[int, int]:
        """The span of the first group that matched."""
        index = next(i for i, g in enumerate(m.groups(), 1) if g is not None)
        return m.span(index)

    def _regions(self) -> list[str]:
        found = [self.lower[slice(*self._group(m))] for m in _REGION_LITERALS.finditer(self.lower)]
        found += [
            m.group(1).lower().replace("_", "-") for m in _JAVA_REGION_ENUM.finditer(self.text)
        ]
        return list(dict.fromkeys(found))

    def _client_endpoints(self, regions: list[str]) -> list[tuple[int, int]]:
        """`baseURL: "…"`-style endpoints: known hosts become services, unknown ones are AI
        endpoints of unknown jurisdiction. Returns the spans handled."""
        spans: list[tuple[int, int]] = []
        table = self.inventory.table
        for m in _ENDPOINT_LITERALS.finditer(self.lower):
            span = self._group(m)
            url = self.text[slice(*span)]
            spans.append(span)
            match = table.by_url(url)
            if match is not None:
                self._service(match, regions, endpoint=url, detected_by="endpoint")
            elif self.inventory.has_ai:
                self.inventory.service(None, endpoint=url, detected_by="endpoint")
                host = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1][:100]
                self._finding(
                    Severity.INFO,
                    "code.unknown-endpoint",
                    f"an AI client points at {secrets.redact(host)}, which the jurisdiction "
                    "table does not know: its operator and jurisdiction are unknown",
                    self.lines.line(m.start()),
                )
        return spans

    def _models(self) -> None:
        table = self.inventory.table
        ai_file = self.inventory.has_ai
        for m in _MODEL_LITERALS.finditer(self.lower):
            model = self.text[slice(*self._group(m))]
            if ai_file or table.by_model_id(model) is not None:
                self.inventory.model(model)

    def _python_risks(self) -> None:
        for m in _PY_TRUST.finditer(self.text):
            self._finding(
                Severity.HIGH,
                "code.trust-remote-code",
                "trust_remote_code=True runs Python code shipped with the model repository at "
                "load time; review the repository's code and pin its revision, or avoid it",
                self.lines.line(m.start()),
            )
        for m in _PY_TORCH_LOAD.finditer(self.text):
            if not _WEIGHTS_ONLY_TRUE.search(m.group(1)):
                self._finding(
                    Severity.HIGH,
                    "code.torch-load-unsafe",
                    "torch.load without weights_only=True unpickles arbitrary objects: a "
                    "malicious checkpoint runs code when loaded; pass weights_only=True",
                    self.lines.line(m.start()),
                )


def _npm_package(spec: str) -> str | None:
    if spec.startswith((".", "/", "node:", "http:", "https:")) or not spec.strip():
        return None
    parts = spec.split("/")
    if spec.startswith("@"):
        return "/".join(parts[:2]) if len(parts) >= 2 else None
    return parts[0]
