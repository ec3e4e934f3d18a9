"""Python source: which AI services, SDKs and models it uses, and how it loads models.

The file is parsed with `ast` (never imported or run). Imports and aliases are resolved
(`import openai as oa`, `from transformers import AutoModel as M`), so `oa.OpenAI(...)` is the
OpenAI client and `M.from_pretrained(...)` a Hugging Face load. String values are read from
literals, from module-level string constants referenced by name, and from the default of
`os.getenv("X", "default")`; anything computed at run time is not followed.

Findings (line numbers 1-based):
    code.trust-remote-code   high    `trust_remote_code=True` (medium when not a literal)
    code.torch-load-unsafe   high    `torch.load` without `weights_only=True` (medium when the
                                     value is not a literal)
    code.pickle-load         medium  pickle / joblib / dill / cloudpickle loads, `pd.read_pickle`,
                                     `np.load(allow_pickle=True)` on a non-literal source
    code.hardcoded-secret    high    an API key in the source (masked; see `secrets`)
    code.unpinned-model      low     a Hub model loaded without `revision=<commit hash>`
    code.unknown-endpoint    info    an AI client pointed at a host the jurisdiction table lacks
    python.parse-error       info    not valid Python / not decodable; the regex patterns of
                                     `patterns` are used instead
    python.large-file        info    over 1 MB: the regex patterns are used (bounds the time)
    python.too-large         info    over the 5 MB cap, skipped

Components: `service` per provider used (endpoint and region when seen), `library` per AI SDK
imported, `machine-learning-model` per model id.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field

from sumun.scan.code import secrets
from sumun.scan.code._common import (
    Inventory,
    is_hf_id,
    is_pinned_revision,
    python_distribution,
    read_capped,
    too_large,
)
from sumun.scan.code._python_sdks import (
    BEDROCK_SERVICES,
    CLIENTS,
    ENDPOINT_KWARGS,
    GETENV,
    HUB_LOADERS,
    LANGCHAIN,
    LITELLM,
    LITELLM_CALLS,
    MODEL_KWARGS,
    PICKLE_CALLS,
    REGION_KWARGS,
    TORCH_LOAD,
    Client,
)
from sumun.scan.code.patterns import scan_text
from sumun.scan.jurisdiction import ProviderMatch
from sumun.scan.model import FileResult, Finding, Severity, Source

__all__ = ["analyze", "handles"]

_SUFFIXES = (".py", ".pyw", ".pyi")
_AST_MAX = 1024 * 1024  # parsing costs ~1 s/MB here; larger files get the text patterns


def handles(path: str) -> bool:
    """Python sources this analyzer reads (by name: text has no magic bytes)."""
    return path.lower().endswith(_SUFFIXES)


def analyze(source: Source) -> FileResult:
    data, truncated = read_capped(source)
    if truncated:
        return FileResult("python", [too_large(source, "python.too-large")])
    if len(data) > _AST_MAX:
        return _large(source, data)
    try:
        # PEP 263: a coding cookie may name another encoding; without one it is UTF-8, and
        # bytes that do not decode are an error (CPython tolerates some inside comments).
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
        tree = ast.parse(text, filename=source.path)
    except (
        SyntaxError,
        ValueError,  # UnicodeDecodeError, NUL bytes
        LookupError,  # an unknown codec in the cookie
        RecursionError,
        MemoryError,
        OverflowError,
    ) as exc:
        return _fallback(source, data, exc)
    return _Analysis(source, text, tree).run()


def _large(source: Source, data: bytes) -> FileResult:
    result = scan_text(source, data.decode("utf-8", "replace"), "python")
    result.findings.insert(
        0,
        source.finding(
            Severity.INFO,
            "python.large-file",
            f"over {_AST_MAX // (1024 * 1024)} MB (generated code?): scanned with text patterns "
            "instead of the syntax tree, which bounds the time spent",
        ),
    )
    return result


def _fallback(source: Source, data: bytes, exc: BaseException) -> FileResult:
    if isinstance(exc, SyntaxError):
        where = f"line {exc.lineno}: " if exc.lineno else ""
        reason = f"{where}{exc.msg}"
    elif isinstance(exc, (RecursionError, MemoryError)):
        reason = "nested too deeply to parse"
    elif isinstance(exc, UnicodeDecodeError):
        reason = f"not valid {exc.encoding} at byte {exc.start}"
    elif isinstance(exc, LookupError):
        reason = "unknown source encoding"
    else:
        reason = str(exc)
    reason = secrets.redact(reason)[:160]
    text = data.decode("utf-8", "replace")
    result = scan_text(source, text, "python")
    result.findings.insert(
        0,
        source.finding(
            Severity.INFO,
            "python.parse-error",
            f"not parsed as Python ({reason}); scanned with text patterns instead",
        ),
    )
    return result


def _literal_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


@dataclass(slots=True)
class _Analysis:
    source: Source
    text: str
    tree: ast.Module
    aliases: dict[str, str] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    dists: dict[str, int] = field(default_factory=dict)  # imported distribution -> first line
    client_dists: set[str] = field(default_factory=set)  # SDKs whose clients we saw
    session_region: str | None = None
    inventory: Inventory = field(init=False)

    def __post_init__(self) -> None:
        self.inventory = Inventory(self.source.path)

    # -- set-up --------------------------------------------------------------------------

    def _import(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    self.aliases.setdefault(top, top)
                self._note_module(alias.name, node.lineno)
        elif node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                self._note_module(f"{node.module}.{alias.name}", node.lineno)

    def _note_module(self, module: str, line: int) -> None:
        dist = python_distribution(module, self.inventory.table)
        if dist is not None:
            self.dists.setdefault(dist, line)

    def _collect_constants(self) -> None:
        for node in self.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            text = _literal_str(value)
            if isinstance(target, ast.Name) and text is not None:
                self.constants[target.id] = text

    # -- resolution ----------------------------------------------------------------------

    def qualify(self, node: ast.AST) -> str | None:
        """The dotted name an expression refers to, through import aliases (`oa.OpenAI` ->
        `openai.OpenAI`); None when it is not rooted in an import."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):  # iterative: chains can be thousands long
            attrs.append(node.attr)
            node = node.value
        base = self.aliases.get(node.id) if isinstance(node, ast.Name) else None
        if base is None:
            return None
        return ".".join([base, *reversed(attrs)])

    def value(self, node: ast.AST | None) -> str | None:
        """A string known statically: a literal, a module constant, or a getenv default."""
        if node is None:
            return None
        text = _literal_str(node)
        if text is not None:
            return text
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        if isinstance(node, ast.Call) and self.qualify(node.func) in GETENV and len(node.args) >= 2:
            return self.value(node.args[1])
        return None

    # -- the walk ------------------------------------------------------------------------

    def run(self) -> FileResult:
        calls, assigns, urls = self._walk()
        self._collect_constants()
        for call in calls:
            self._call(call)
        for assign in assigns:
            self._module_setting(assign)
        for url in urls:
            self._url_literal(url)
        for dist, _line in sorted(self.dists.items(), key=lambda kv: kv[1]):
            self.inventory.library("pypi", dist)
            if dist not in self.client_dists:
                self.inventory.service(
                    self.inventory.table.by_package("pypi", dist), detected_by="import"
                )
        for hit in secrets.scan(self.text, code=True):
            self._finding(hit.severity, "code.hardcoded-secret", secrets.message(hit), hit.line)
        self.findings.sort(key=lambda f: (f.line or 0, f.rule))
        return FileResult("python", self.findings, self.inventory.components())

    def _walk(self) -> tuple[list[ast.Call], list[ast.Assign], list[str]]:
        """One pass over the tree (it dominates the cost): imports are resolved on the way;
        calls, assignments and URL strings (not docstrings) are returned for later."""
        calls: list[ast.Call] = []
        assigns: list[ast.Assign] = []
        urls: list[ast.Constant] = []
        bare: set[int] = set()  # docstrings and other bare string statements
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                calls.append(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                self._import(node)
            elif isinstance(node, ast.Assign):
                assigns.append(node)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                bare.add(id(node.value))
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and "://" in node.value
            ):
                urls.append(node)
        return calls, assigns, [str(c.value) for c in urls if id(c) not in bare]

    def _finding(self, severity: Severity, rule: str, message: str, line: int | None) -> None:
        self.findings.append(self.source.finding(severity, rule, message, line=line))

    def _url_literal(self, text: str) -> None:
        match = self.inventory.table.by_url(text)
        if match is not None and match.provider.id != "self-hosted":
            self.inventory.service(match, endpoint=text, detected_by="endpoint")

    def _module_setting(self, node: ast.Assign) -> None:
        """`openai.base_url = "…"` / `openai.api_base = "…"` (the SDK's module-level client)."""
        for target in node.targets:
            name = self.qualify(target)
            if name in ("openai.base_url", "openai.api_base", "openai.azure_endpoint"):
                self._endpoint(self.value(node.value), "openai", "openai", None, node.lineno)

    def _call(self, call: ast.Call) -> None:
        name = self.qualify(call.func)
        attr = call.func.attr if isinstance(call.func, ast.Attribute) else None
        kwargs = {k.arg: k.value for k in call.keywords if k.arg}
        self._trust_remote_code(call, kwargs)
        if name in TORCH_LOAD:
            self._torch_load(call, kwargs)
        elif name in PICKLE_CALLS or (
            name == "numpy.load" and _is_true(kwargs.get("allow_pickle"))
        ):
            self._pickle_load(call, name)
        if attr == "from_pretrained" or name in HUB_LOADERS:
            self._hub_load(call, kwargs, name or "")
        if name in ("boto3.Session", "boto3.session.Session"):
            self.session_region = self.value(kwargs.get("region_name")) or self.session_region
        if attr == "client" or name == "boto3.client":
            self._boto3_client(call, kwargs)
        if name is not None:
            self._client(call, kwargs, name)
        self._model_kwargs(call, kwargs, name)

    # -- findings ------------------------------------------------------------------------

    def _trust_remote_code(self, call: ast.Call, kwargs: dict[str, ast.expr]) -> None:
        value: ast.expr | None = kwargs.get("trust_remote_code")
        for keyword in call.keywords:
            if keyword.arg is None and isinstance(keyword.value, ast.Dict):  # **{"trust_…": True}
                for key, item in zip(keyword.value.keys, keyword.value.values, strict=True):
                    if _literal_str(key) == "trust_remote_code":
                        value = item
        if value is None or (isinstance(value, ast.Constant) and value.value in (False, None)):
            return
        literal = isinstance(value, ast.Constant) and value.value is True
        self._finding(
            Severity.HIGH if literal else Severity.MEDIUM,
            "code.trust-remote-code",
            "trust_remote_code="
            + ("True" if literal else "<computed>")
            + " runs Python code shipped with the model repository at load time"
            + ("" if literal else " when the value is true")
            + "; review the repository's code and pin its revision, or avoid it",
            call.lineno,
        )

    def _torch_load(self, call: ast.Call, kwargs: dict[str, ast.expr]) -> None:
        weights_only = kwargs.get("weights_only")
        if isinstance(weights_only, ast.Constant) and weights_only.value is True:
            return
        if weights_only is None or isinstance(weights_only, ast.Constant):
            self._finding(
                Severity.HIGH,
                "code.torch-load-unsafe",
                "torch.load without weights_only=True unpickles arbitrary objects: a malicious "
                "checkpoint runs code when loaded; pass weights_only=True",
                call.lineno,
            )
        else:
            self._finding(
                Severity.MEDIUM,
                "code.torch-load-unsafe",
                "torch.load with a computed weights_only: unsafe unpickling when it is false; "
                "pass weights_only=True",
                call.lineno,
            )

    def _pickle_load(self, call: ast.Call, name: str | None) -> None:
        target = call.args[0] if call.args else None
        if target is None or _is_static_source(target, self):
            return
        self._finding(
            Severity.MEDIUM,
            "code.pickle-load",
            f"{name or 'numpy.load'} deserializes data from a source chosen at run time; "
            "unpickling untrusted data runs code — use a safe format (safetensors, JSON)",
            call.lineno,
        )

    def _hub_load(self, call: ast.Call, kwargs: dict[str, ast.expr], name: str) -> None:
        model_node: ast.expr | None
        if name == "transformers.pipeline":
            model_node = kwargs.get("model") or (call.args[1] if len(call.args) > 1 else None)
        elif name in ("huggingface_hub.hf_hub_download", "huggingface_hub.snapshot_download"):
            model_node = kwargs.get("repo_id") or (call.args[0] if call.args else None)
        elif name == "vllm.LLM":
            model_node = kwargs.get("model") or (call.args[0] if call.args else None)
        else:
            model_node = kwargs.get("pretrained_model_name_or_path") or kwargs.get(
                "model_name_or_path"
            )
            if model_node is None:  # PeftModel.from_pretrained(base, "org/adapter")
                model_node = next((a for a in call.args[:2] if self.value(a) is not None), None)
        model_id = self.value(model_node)
        if model_id is None or not is_hf_id(model_id):
            return
        revision_node = kwargs.get("revision")
        revision = self.value(revision_node)
        self.inventory.model(model_id, revision)
        if revision_node is not None and revision is None:
            return  # computed revision: cannot tell
        if revision is None or not is_pinned_revision(revision):
            how = "without revision=" if revision is None else f"at revision {revision[:40]!r}"
            self._finding(
                Severity.LOW,
                "code.unpinned-model",
                secrets.redact(
                    f"{model_id} is loaded from the Hub {how}; a branch or tag can change under "
                    "you — pin a commit hash"
                ),
                call.lineno,
            )

    # -- services ------------------------------------------------------------------------

    def _endpoint(
        self,
        url: str | None,
        provider: str | None,
        dist: str,
        region: str | None,
        line: int | None = None,
    ) -> None:
        table = self.inventory.table
        self.client_dists.add(dist)
        if url:
            match = table.by_url(url) if "://" in url else table.by_host(url)
            if match is None:
                self.inventory.service(
                    None, endpoint=url if "://" in url else f"https://{url}", detected_by="client"
                )
                self._finding(
                    Severity.INFO,
                    "code.unknown-endpoint",
                    f"an AI client points at {secrets.redact(_host_of(url))}, which the "
                    "jurisdiction table does not know: its operator and jurisdiction are unknown",
                    line,
                )
                return
            self.inventory.service(match, endpoint=url, detected_by="endpoint", region=region)
            return
        chosen = table.get(provider) if provider else None
        if chosen is not None:
            self.inventory.service(ProviderMatch(chosen), detected_by="client", region=region)

    def _client(self, call: ast.Call, kwargs: dict[str, ast.expr], name: str) -> None:
        client = CLIENTS.get(name)
        module, _, cls = name.rpartition(".")
        if client is None and module.startswith("langchain") and cls in LANGCHAIN:
            dist = python_distribution(module, self.inventory.table) or "langchain"
            client = Client(LANGCHAIN[cls], dist)
        if client is None:
            if module == "litellm" and cls in LITELLM_CALLS:
                self._litellm(kwargs, call.lineno)
            return
        provider = client.provider
        if provider is None:  # google.genai.Client(vertexai=True, location=…)
            provider = "google-vertex" if _is_true(kwargs.get("vertexai")) else "google-gemini"
        url = next((self.value(kwargs[k]) for k in ENDPOINT_KWARGS if k in kwargs), None)
        region = next((self.value(kwargs[k]) for k in REGION_KWARGS if k in kwargs), None)
        if url is not None and "://" not in url and not _looks_like_host(url):
            url = None
        self._endpoint(url, provider, client.dist, region, call.lineno)

    def _boto3_client(self, call: ast.Call, kwargs: dict[str, ast.expr]) -> None:
        service = self.value(kwargs.get("service_name") or (call.args[0] if call.args else None))
        if service not in BEDROCK_SERVICES:
            return
        region = self.value(kwargs.get("region_name")) or self.session_region
        url = self.value(kwargs.get("endpoint_url"))
        self._endpoint(url, "aws-bedrock", "boto3", region, call.lineno)

    def _litellm(self, kwargs: dict[str, ast.expr], line: int) -> None:
        model = self.value(kwargs.get("model"))
        url = self.value(kwargs.get("api_base")) or self.value(kwargs.get("base_url"))
        provider: str | None = None
        if model and "/" in model:
            prefix, _, rest = model.partition("/")
            if prefix in LITELLM:
                provider, model = LITELLM[prefix], rest
        if model:
            self.inventory.model(model)
            if provider is None:
                found = self.inventory.table.by_model_id(model)
                provider = found.provider.id if found is not None else None
        self._endpoint(url, provider, "litellm", None, line)

    def _model_kwargs(self, call: ast.Call, kwargs: dict[str, ast.expr], name: str | None) -> None:
        if name is not None and name.rpartition(".")[0] == "litellm":
            return  # handled with its routing prefix
        candidates = [self.value(kwargs.get(k)) for k in MODEL_KWARGS if k in kwargs]
        if name and name.endswith("GenerativeModel") and call.args:
            candidates.append(self.value(call.args[0]))
        table = self.inventory.table
        ai_file = bool(self.dists)
        for model in candidates:
            if model and (ai_file or table.by_model_id(model) is not None) and "://" not in model:
                self.inventory.model(model)


def _is_true(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _is_static_source(node: ast.AST, analysis: _Analysis) -> bool:
    """A literal path or bytes, or `open("literal")` / `Path("literal")` — content that ships
    with the code and is scanned on its own."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
        return True
    if isinstance(node, ast.Call):
        callee = node.func
        fname = (
            callee.id
            if isinstance(callee, ast.Name)
            else (callee.attr if isinstance(callee, ast.Attribute) else "")
        )
        if fname in ("open", "Path", "PurePath") and node.args:
            return analysis.value(node.args[0]) is not None
    return isinstance(node, ast.Name) and node.id in analysis.constants


_HOSTNAME = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?$")


def _looks_like_host(text: str) -> bool:
    return (bool(_HOSTNAME.match(text)) and "." in text) or text.startswith("localhost")


def _host_of(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    return host[:100]
