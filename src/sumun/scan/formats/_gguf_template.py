"""Jinja2 chat templates as an attack surface: pattern checks for server-side template injection.

A chat template is a Jinja2 program shipped inside the model (GGUF `tokenizer.chat_template`,
Hugging Face `tokenizer_config.json` `chat_template`, `chat_template.jinja`). Rendered with a plain
`jinja2.Environment` — as llama-cpp-python did before 0.2.72 (CVE-2024-34359) — it reaches Python
objects: `().__class__.__base__.__subclasses__()`, `lipsum.__globals__['os'].popen(…)`,
`self._TemplateReference__context`, `cycler.__init__.__globals__`… A sandboxed environment
(`ImmutableSandboxedEnvironment`, which transformers uses) refuses attributes that start with `_`.

Ordinary chat templates need none of that: they loop over `messages`, test `message['role']`,
concatenate strings, call `raise_exception`, `namespace(...)`, `tojson`, `strftime_now`. So the
checks are simple and the false-positive rate on real templates is low; the cost is that they are
patterns, not a proof: a sufficiently inventive obfuscation can evade them. The text is examined
in four views so that the usual evasions still show their dunder names:

1. as written;
2. with Jinja/Python string escapes decoded (`'\\x5f\\x5fclass\\x5f\\x5f'`);
3. "squashed": quotes, whitespace and the concatenation/joining punctuation `~ + , ( ) [ ]`
   removed, so `'__cla' ~ 'ss__'` and `['__cla','ss__']|join` read `__class__`;
4. the squashed view reversed (`'__ssalc__'|reverse`).

Critical: Python's special (dunder) names — the ones objects really have, so that `a__b__c`
text is not one — name-mangled privates (`_TemplateReference__context`), frame and code
internals (`f_globals`, `gi_frame`), Jinja globals used as gadgets (`lipsum.`, `cycler.`,
`joiner.`, `namespace.`, `self.`), process/import calls (`popen`, `os.system`, `subprocess`,
`eval(`, `import_module`). High: obfuscation primitives no chat template needs (`|attr`,
`'%c'|format`, `replace(…, '_')`, `'_' * 2`, `|string|list`, `'…'.format` field access,
attributes or keys starting with `_`, `{% include/import/extends %}`).
"""

from __future__ import annotations

import builtins
import re
import types
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from sumun.scan.model import Severity

__all__ = ["TemplateVerdict", "inspect_chat_template"]

_CVE = "CVE-2024-34359"


@dataclass(frozen=True, slots=True)
class TemplateVerdict:
    """`severity` is None when nothing was found; `reasons` name what was found (deduplicated)."""

    severity: Severity | None
    reasons: tuple[str, ...]

    @property
    def flagged(self) -> bool:
        return self.severity is not None

    def message(self, where: str) -> str:
        return (
            f"{where}: Jinja2 template-injection patterns ({'; '.join(self.reasons)}); a chat "
            f"template rendered outside a sandbox runs this as Python ({_CVE})"
        )


_DUNDER = re.compile(r"__[A-Za-z][A-Za-z0-9_]{0,64}?__")


def _python_dunders() -> frozenset[str]:
    """The special names Python objects actually have (so `mcp__server__tool`-style text in a
    template is not mistaken for one): every dunder on the objects a template can reach."""

    def f() -> None: ...

    def g() -> Iterator[None]:
        yield None

    samples: list[object] = [object, type, f, g(), types, builtins, {}, [], (), "", 0, 0.0]
    samples += [b"", set(), frozenset(), None, True, range(1), slice(1), property(), f.__code__]
    samples += [BaseException(), staticmethod, classmethod, memoryview(b""), Exception]
    names = {n for o in samples for n in dir(o) if n.startswith("__") and n.endswith("__")}
    extra = (
        "__builtins__ __import__ __globals__ __file__ __path__ __loader__ __spec__ __main__ "
        "__cached__ __wrapped__ __func__ __self__ __closure__ __defaults__ __kwdefaults__ "
        "__code__ __frame__ __traceback__ __context__ __cause__ __mro__ __bases__ __base__ "
        "__subclasses__ __objclass__ __getattr__ __weakref__ __annotations__ __qualname__ "
        "__dict__ __slots__ __debug__"
    )
    return frozenset(names | set(extra.split()))


_PYTHON_DUNDERS = _python_dunders()
_MANGLED = re.compile(r"_[A-Z][A-Za-z0-9]{0,64}__[A-Za-z]\w{0,64}")
_INTERNALS = re.compile(
    r"\b(f_globals|f_locals|f_back|f_builtins|f_code|gi_frame|gi_code|cr_frame|ag_frame|"
    r"tb_frame|tb_next|co_code|co_consts|func_globals|func_code)\b"
)
_GADGET = re.compile(r"\b(lipsum|cycler|joiner|namespace|self)\s*(\.|\[|\|\s*attr\b)")
_CALLS = re.compile(
    r"\bpopen\b|\bos\s*\.\s*(system|popen|exec\w*|spawn\w*|remove|unlink|environ|fork|kill)\b"
    r"|\bsubprocess\b|\bimport_module\b|\beval\s*\(|\bexec\s*\(|\bcheck_output\b"
    r"|\bbuiltins\b|\bgetattr\s*\(|\.mro\s*\("
)
# High: primitives that only serve to hide the above.
_OBFUSCATION: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), label)
    for pattern, label in (
        (r"\|\s*attr\b|\battr\s*\(\s*['\"]", "the |attr filter (reads arbitrary attributes)"),
        (r"(['\"])[^'\"\n]*%c[^'\"\n]*\1", "'%c' formatting (builds names from codes)"),
        (
            r"replace\s*\(\s*(['\"]).{0,64}?\1\s*,\s*(['\"])_",
            "replace(…, '_') (builds underscores)",
        ),
        (r"(['\"])_+\1\s*\*", "string multiplication of '_'"),
        (r"\|\s*string\s*\|\s*list\b", "|string|list (picks characters from reprs)"),
        (r"(['\"])[^'\"\n]*\{\w*[.\[][^'\"\n]*\1\s*\.\s*format\b", "str.format field access"),
        (r"\.[ \t]*_[A-Za-z_]", "an attribute starting with '_'"),
        (r"\[\s*(['\"])_", "a key starting with '_'"),
        (r"\{%-?\s*(include|import|extends|from)\b", "{% include/import/extends %}"),
    )
)
_SQUASH = str.maketrans("", "", "'\"~+,()[] \t\r\n\f\v")
_ESCAPE = re.compile(
    r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|[0-7]{1,3}|N\{[A-Za-z0-9 \-]{1,60}\})"
)
_MAX_REASONS = 8


def _decode_escapes(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        try:
            if code[0] in "xuU":
                return chr(int(code[1:], 16))
            if code[0] == "N":
                return unicodedata.lookup(code[2:-1])
            return chr(int(code, 8))
        except (KeyError, ValueError, OverflowError):
            return match.group(0)

    return _ESCAPE.sub(one, text)


def _special_names(views: tuple[str, str, str]) -> dict[str, None]:
    """Dunders, name-mangled privates and interpreter internals in the first three views and
    in the squashed view reversed; a reversed hit that only mirrors a direct one is dropped."""
    template, decoded, squashed = views
    found: dict[str, None] = {}
    for view, reverse in ((template, False), (decoded, False), (squashed, False), (squashed, True)):
        text = view[::-1] if reverse else view
        suffix = " (reversed)" if reverse else ""
        for pattern, label in ((_DUNDER, "dunder"), (_MANGLED, "name-mangled private")):
            for match in pattern.finditer(text):
                name = match.group(0)
                if pattern is _DUNDER and name not in _PYTHON_DUNDERS:
                    continue
                if reverse and f"{label} {name[::-1]}" in found:
                    continue
                found[f"{label} {name}{suffix}"] = None
        for match in _INTERNALS.finditer(text):
            found[f"interpreter internals {match.group(1)}"] = None
    return found


def inspect_chat_template(template: str) -> TemplateVerdict:
    """Check one chat template. Pure; linear in the template's length (callers cap the length)."""
    decoded = _decode_escapes(template)
    critical = _special_names((template, decoded, decoded.translate(_SQUASH)))
    for view in (template, decoded):
        for match in _GADGET.finditer(view):
            critical[f"Jinja global {match.group(1)} used as a gadget"] = None
        for match in _CALLS.finditer(view):
            critical[f"call {' '.join(match.group(0).split())}"] = None
    high: dict[str, None] = {}
    for pattern, label in _OBFUSCATION:
        if pattern.search(template) or pattern.search(decoded):
            high[label] = None
    if critical:
        reasons = list(critical) + list(high)
        return TemplateVerdict(Severity.CRITICAL, tuple(reasons[:_MAX_REASONS]))
    if high:
        return TemplateVerdict(Severity.HIGH, tuple(list(high)[:_MAX_REASONS]))
    return TemplateVerdict(None, ())
