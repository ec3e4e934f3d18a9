"""Configuration files: AI endpoints, provider keys, model ids, regions and secrets.

Handles `.env` / `*.env` / `.env.*`, YAML, JSON, TOML, Java `.properties`, `.ini`/`.cfg`, the
dependency manifests `package.json`, `pyproject.toml`, `requirements*.txt` and `go.mod`, and
Jupyter notebooks (`.ipynb`: code cells go through the Python analyzer).

Structured formats are parsed once only to report a `config.parse-error` (info) when broken;
what the analyzer reports comes from a line scan of `key: value` / `key = value` pairs, which
keeps line numbers and works the same on every format (nested YAML keys are seen by their last
name). Keys are read case-insensitively with `.` and `-` as `_`, so `OPENAI_API_KEY`,
`openai.api-key` and `spring.ai.openai.api-key` are recognised alike:

    endpoint URLs anywhere in values   -> service (via the jurisdiction table)
    provider-prefixed keys             -> service (OPENAI_*, AZURE_OPENAI_*, CLOVASTUDIO_*, …);
                                          a `*_BASE_URL` pointing elsewhere wins over the prefix
    model / model_name / model_id / *_MODEL / _name_or_path / base_model  -> model
    region / location / *_REGION       -> hosting region of a regional service in the file
    trust_remote_code: true, --trust-remote-code -> config.trust-remote-code (high)
    secrets                            -> config.hardcoded-secret (high; masked)

Files over 5 MB are skipped with `config.too-large` (info).
"""

from __future__ import annotations

import configparser
import io
import json
import re
import tomllib
from bisect import bisect_right
from dataclasses import dataclass, field
from types import MappingProxyType

import yaml

from sumun.scan.code import python, secrets
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

__all__ = ["analyze", "format_of", "handles"]

# Format names match `sumun.scan.identify` (env, gomod, requirements, …).
_SUFFIX_FORMATS = MappingProxyType(
    {
        ".env": "env",
        ".ipynb": "ipynb",
        ".yaml": "yaml",
        ".yml": "yaml",
        ".json": "json",
        ".toml": "toml",
        ".properties": "properties",
        ".ini": "ini",
        ".cfg": "ini",
    }
)
_YAML_PARSE_CAP = 1024 * 1024  # PyYAML is slow; bigger YAML is line-scanned without a parse check

_PAIR = re.compile(
    r"""(?m)^[ \t]{0,200}(?:-[ \t]{1,8})?(?:export[ \t]+)?["']?([A-Za-z_][\w.\-]{0,200})["']?"""
    r"""[ \t]{0,8}[:=][ \t]{0,8}([^\n]{0,2000})$"""
)
_JSON_PAIR = re.compile(
    r'"([A-Za-z_][\w.\-]{0,200})"[ \t\r\n]{0,40}:[ \t\r\n]{0,40}("[^"\\\n]{0,2000}"|true|false)'
)
_MODEL_KEYS = frozenset(
    {
        "MODEL",
        "MODEL_NAME",
        "MODEL_ID",
        "MODEL_NAME_OR_PATH",
        "_NAME_OR_PATH",
        "PRETRAINED_MODEL_NAME_OR_PATH",
        "BASE_MODEL",
        "BASE_MODEL_NAME_OR_PATH",
        "EMBEDDING_MODEL",
        "LLM_MODEL",
        "CHAT_MODEL",
        "DEPLOYMENT_NAME",
        "MODELID",
    }
)
_MODEL_SUFFIXES = ("_MODEL", "_MODEL_ID", "_MODEL_NAME", "_DEPLOYMENT", "_DEPLOYMENT_NAME")
_REGION_KEYS = ("REGION", "LOCATION", "REGION_NAME")
_ENDPOINT_KEYS = ("URL", "URI", "ENDPOINT", "BASE", "HOST", "API_BASE", "SERVER")
_TRUE = frozenset({"true", "yes", "on", "1"})
_TRUST_FLAG = re.compile(r"--trust[-_]remote[-_]code\b(?![ \t]{0,4}(?:=[ \t]{0,4})?(?:false|0)\b)")
_REQUIREMENT = re.compile(r"(?m)^[ \t]{0,20}([A-Za-z0-9][A-Za-z0-9._-]{0,100})")
_GO_REQUIRE = re.compile(
    r"(?m)^[ \t]{0,20}(?:require[ \t]+)?([a-z0-9.-]{1,100}\.[a-z]{2,}/[^\s]{1,200})[ \t]+v"
)


def format_of(path: str) -> str | None:
    """The configuration format of a file by its name, or None if this analyzer does not read it."""
    name = path.rsplit("/", 1)[-1].lower()
    if name == ".env" or name.startswith(".env."):
        return "env"
    if name in ("package.json", "pyproject.toml", "go.mod") or (
        name.startswith("requirements") and name.endswith(".txt")
    ):
        return {"package.json": "json", "pyproject.toml": "toml", "go.mod": "gomod"}.get(
            name, "requirements"
        )
    dot = name.rfind(".")
    return _SUFFIX_FORMATS.get(name[dot:]) if dot > 0 else None


def handles(path: str) -> bool:
    return format_of(path) is not None


def analyze(source: Source) -> FileResult:
    fmt = format_of(source.path) or "env"
    data, truncated = read_capped(source)
    if truncated:
        return FileResult(fmt, [too_large(source, "config.too-large")])
    findings: list[Finding] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", "replace")
        findings.append(
            source.finding(
                Severity.INFO,
                "config.parse-error",
                f"not valid UTF-8 (byte {exc.start}); scanned with replacement characters",
            )
        )
    else:
        if fmt == "ipynb":
            notebook = _notebook(source, text)
            if notebook is not None:
                return notebook
            fmt = "json"  # not a notebook after all: read it as JSON (reports the parse error)
        problem = _parse_problem(fmt, text)
        if problem is not None:
            line, reason = problem
            findings.append(
                source.finding(
                    Severity.INFO,
                    "config.parse-error",
                    f"not valid {fmt}: {secrets.redact(reason)[:160]}; scanned line by line",
                    line=line,
                )
            )
    result = _Scan(source, text, fmt).run()
    result.findings[:0] = findings
    return result


def _notebook(source: Source, text: str) -> FileResult | None:
    """A Jupyter notebook: its code cells are analyzed as one Python file (IPython `!`/`%`
    lines commented out), and the whole file — outputs included — is searched for secrets.
    Line numbers count lines of the joined code cells. None when it is not notebook JSON."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    cells = doc.get("cells") if isinstance(doc, dict) else None
    if not isinstance(cells, list):
        return None
    lines: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        body = cell.get("source", "")
        text_cell = "".join(body) if isinstance(body, list) else str(body)
        for line in text_cell.splitlines():
            magic = line.lstrip().startswith(("!", "%", "?"))
            lines.append(f"# {line}" if magic else line)
        lines.append("")
    code = "\n".join(lines).encode("utf-8", "surrogatepass")
    cells_source = Source(
        path=source.path,
        size=len(code),
        head=code[:4096],
        opener=lambda: io.BytesIO(code),
        member=source.member,
    )
    result = python.analyze(cells_source)
    result.format = "ipynb"
    seen = {f.message for f in result.findings if f.rule == "code.hardcoded-secret"}
    for hit in secrets.scan(text):
        message = secrets.message(hit)
        if message not in seen:
            seen.add(message)
            result.findings.append(
                source.finding(hit.severity, "config.hardcoded-secret", message, line=hit.line)
            )
    return result


def _parse_problem(fmt: str, text: str) -> tuple[int | None, str] | None:
    """(line, reason) when a structured file does not parse, else None. Never raises."""
    try:
        if fmt == "json":
            json.loads(text)
        elif fmt == "yaml" and len(text) <= _YAML_PARSE_CAP:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            for _ in yaml.load_all(text, Loader=loader):  # a safe loader (S506 does not apply)
                pass
        elif fmt == "toml":
            tomllib.loads(text)
        elif fmt == "ini":
            parser = configparser.ConfigParser(strict=False, interpolation=None)
            parser.read_string(text)
    except json.JSONDecodeError as exc:
        return exc.lineno, exc.msg
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return line, str(getattr(exc, "problem", None) or "invalid YAML")
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        return (int(found.group(1)) if found else None), str(exc).split(" (at", 1)[0]
    except configparser.Error as exc:
        return getattr(exc, "lineno", None), type(exc).__name__
    except (RecursionError, MemoryError, ValueError):
        return None, "nested too deeply or malformed"
    return None


def _norm(key: str) -> str:
    return re.sub(r"[.\-\s]+", "_", key).upper()


def _unquote(value: str, fmt: str) -> str:
    value = value.strip().rstrip(",").strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'`":
        return value[1:-1]
    if fmt in ("env", "ini", "properties", "yaml", "toml"):
        value = re.split(r"[ \t]+[#;]", value, maxsplit=1)[0]
    return value.strip()


@dataclass(slots=True)
class _Scan:
    source: Source
    text: str
    fmt: str
    findings: list[Finding] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    # config-key prefix provider -> the provider its endpoint key really points at
    implied: dict[str, ProviderMatch] = field(default_factory=dict)
    repointed: set[str] = field(default_factory=set)
    inventory: Inventory = field(init=False)
    lines: LineIndex = field(init=False)

    def __post_init__(self) -> None:
        self.inventory = Inventory(self.source.path)
        self.lines = LineIndex(self.text)

    def run(self) -> FileResult:
        name = self.source.path.rsplit("/", 1)[-1].lower()
        self._manifest(name)
        starts: list[int] = []
        ends: list[int] = []
        models: list[str] = []
        for m in (_JSON_PAIR if self.fmt == "json" else _PAIR).finditer(self.text):
            key, value = m.group(1), _unquote(m.group(2), self.fmt)
            starts.append(m.start(2))
            ends.append(m.end(2))
            self._pair(key, value, self.lines.line(m.start()), models)
        table = self.inventory.table
        for offset, url in urls_in(self.text):
            i = bisect_right(starts, offset) - 1
            if i >= 0 and offset < ends[i]:
                continue  # already read as a key's value
            match = table.by_url(url)
            if match is not None and match.provider.id != "self-hosted":
                self.inventory.service(match, endpoint=url, detected_by="endpoint")
        for match in self.implied.values():
            if match.provider.id not in self.repointed:
                self.inventory.service(match, detected_by="config-key")
        for region in self.regions:
            for match in self._services():
                self.inventory.service(match, detected_by="config-key", region=region)
        ai_file = self.inventory.has_ai
        for model in models:
            if ai_file or "/" in model or table.by_model_id(model) is not None:
                self.inventory.model(model)
        for m in _TRUST_FLAG.finditer(self.text):
            self._trust(self.lines.line(m.start()))
        for hit in secrets.scan(self.text):
            self.findings.append(
                self.source.finding(
                    hit.severity, "config.hardcoded-secret", secrets.message(hit), line=hit.line
                )
            )
        self.findings.sort(key=lambda f: (f.line or 0, f.rule))
        return FileResult(self.fmt, self.findings, self.inventory.components())

    def _services(self) -> list[ProviderMatch]:
        table = self.inventory.table
        found = [table.get(c.provider) for c in self.inventory.components() if c.provider]
        return [ProviderMatch(p) for p in found if p is not None]

    def _pair(self, key: str, value: str, line: int, models: list[str]) -> None:
        norm = _norm(key)
        leaf = norm.rsplit("_", 1)[-1]
        table = self.inventory.table
        prefixed = table.by_config_key(norm)
        if prefixed is not None:
            self.implied.setdefault(prefixed.provider.id, prefixed)
        if "://" in value:
            self._endpoint_value(norm, value, prefixed, line)
        if not value:
            return
        if norm in _MODEL_KEYS or norm.endswith(_MODEL_SUFFIXES) or leaf == "MODEL":
            if "://" not in value and " " not in value:
                models.append(value)
        elif norm.endswith(_REGION_KEYS) and re.fullmatch(r"[a-z][a-z0-9-]{2,30}", value):
            self.regions.append(value)
        elif "TRUST_REMOTE_CODE" in norm and value.lower() in _TRUE:
            self._trust(line)

    def _endpoint_value(
        self, norm: str, value: str, prefixed: ProviderMatch | None, line: int
    ) -> None:
        table = self.inventory.table
        for _, url in urls_in(value):
            match = table.by_url(url)
            is_endpoint_key = norm.endswith(_ENDPOINT_KEYS) or "ENDPOINT" in norm
            if match is not None:
                if match.provider.id == "self-hosted" and not is_endpoint_key:
                    continue
                self.inventory.service(match, endpoint=url, detected_by="endpoint")
                if prefixed is not None and match.provider.id != prefixed.provider.id:
                    self.repointed.add(prefixed.provider.id)
            elif is_endpoint_key and prefixed is not None:
                self.repointed.add(prefixed.provider.id)
                self.inventory.service(None, endpoint=url, detected_by="endpoint")
                host = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1][:100]
                self.findings.append(
                    self.source.finding(
                        Severity.INFO,
                        "code.unknown-endpoint",
                        f"an AI endpoint setting points at {secrets.redact(host)}, which the "
                        "jurisdiction table does not know: its operator and jurisdiction are "
                        "unknown",
                        line=line,
                    )
                )

    def _trust(self, line: int) -> None:
        if any(f.rule == "config.trust-remote-code" and f.line == line for f in self.findings):
            return
        self.findings.append(
            self.source.finding(
                Severity.HIGH,
                "config.trust-remote-code",
                "trust_remote_code enabled: the model server runs Python code shipped with the "
                "model repository; review that code and pin the revision, or turn it off",
                line=line,
            )
        )

    def _manifest(self, name: str) -> None:
        """Dependencies declared in package.json / pyproject.toml / requirements / go.mod."""
        if name == "package.json":
            try:
                doc = json.loads(self.text)
            except (ValueError, RecursionError):
                return
            if isinstance(doc, dict):
                for section in ("dependencies", "devDependencies", "peerDependencies"):
                    deps = doc.get(section)
                    if isinstance(deps, dict):
                        for dep in deps:
                            self.inventory.library("npm", str(dep))
        elif name == "pyproject.toml":
            try:
                doc = tomllib.loads(self.text)
            except (tomllib.TOMLDecodeError, RecursionError):
                return
            project = doc.get("project", {})
            deps = project.get("dependencies", []) if isinstance(project, dict) else []
            poetry = doc.get("tool", {}).get("poetry", {}).get("dependencies", {})
            names = [str(d) for d in deps if isinstance(d, str)]
            names += [str(k) for k in poetry] if isinstance(poetry, dict) else []
            self._python_requirements("\n".join(names))
        elif name.startswith("requirements") and name.endswith(".txt"):
            self._python_requirements(self.text)
        elif name == "go.mod":
            for m in _GO_REQUIRE.finditer(self.text):
                self.inventory.library("go", m.group(1))

    def _python_requirements(self, text: str) -> None:
        table = self.inventory.table
        for m in _REQUIREMENT.finditer(text):
            dist = python_distribution(m.group(1).replace("-", "_"), table) or m.group(1)
            self.inventory.library("pypi", dist)
