"""How the compliance report's values are shown to people (the printable HTML and the console).

The JSON report keeps machine values (`true`, `null`, absolute paths); a person reads:

- values as words: yes/no, "—" for nothing, lists joined — never `True`, `None` or `['a']`;
- paths inside the deployment's home as `$SUMUN_HOME/…` (the report names the system by its
  configured name, not by a directory);
- commands as commands: each in `<code class="cmd">`, split into tokens that never wrap inside
  (`.tok { white-space: nowrap }`), so a line breaks only between words of a command;
- evidence on a card that is not satisfied as supporting only: a passing check there does not
  settle the requirement, and the card says what does (`sumun comply attest …`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup, escape

__all__ = [
    "SUPPORTING_EN",
    "SUPPORTING_KO",
    "attest_command",
    "commands",
    "for_people",
    "human",
    "marker",
]

SUPPORTING_EN = "This evidence supports but does not settle the item; an attestation is needed:"
SUPPORTING_KO = "아래 근거는 이 항목을 뒷받침할 뿐 충족시키지는 않습니다. 증빙이 필요합니다:"

# `a command` in backticks, or a parenthesised "(sumun …)" in a catalog text.
_COMMAND = re.compile(r"`([^`]+)`|(?<=\()(sumun [^()]+)(?=\))")
_LIST_REPR = re.compile(r"^[\[(].*[\])]$", re.S)


def attest_command(requirement: str, subject: str | None) -> str:
    app = f" --app {subject}" if subject else ""
    return f"sumun comply attest {requirement}{app} --by NAME --file DOC"


def _command(text: str) -> Markup:
    tokens = Markup(" ").join(Markup('<span class="tok">{}</span>').format(t) for t in text.split())
    return Markup('<code class="cmd">{}</code>').format(tokens)


def commands(text: str | None) -> Markup:
    """`text`, escaped, with every command in it rendered as an unbreakable-token <code>."""
    if not text:
        return Markup("")
    out, at = [], 0
    for match in _COMMAND.finditer(text):
        out.append(escape(text[at : match.start()]))
        out.append(_command(match.group(1) or match.group(2)))
        at = match.end()
    out.append(escape(text[at:]))
    return Markup("").join(out)


_WORDS = {"True": "yes", "False": "no", "None": "—"}


def _repr_items(text: str) -> list[Any] | None:
    """The items of a list's or tuple's repr that reached a string; None if it is not one."""
    if not _LIST_REPR.match(text):
        return None
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return list(parsed) if isinstance(parsed, list | tuple) else None


def human(value: Any) -> str:
    """A detail value in words: yes/no, "—", joined lists, grouped numbers."""
    if isinstance(value, str):
        items = _repr_items(value)
        return _WORDS.get(value, value) if items is None else human(items)
    if value is None or isinstance(value, bool):
        return {None: "—", True: "yes", False: "no"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(human(v) for v in value) or "—"
    return str(value)


def marker(status: str, ok: bool | None) -> str:
    """The mark an evidence line gets: pass, fail, unknown — or support, for a passing check
    on a card the check alone does not settle."""
    if ok is None:
        return "unknown"
    if ok is False:
        return "fail"
    unsettled = status in ("not-satisfied", "undetermined", "needs-attestation")
    return "support" if unsettled else "pass"


def _homeless(text: str, home: re.Pattern[str] | None) -> str:
    return text if home is None else home.sub("$SUMUN_HOME", text)


def for_people(data: Any, home: str | None) -> Any:
    """A copy of report data with the home's path shown as $SUMUN_HOME and every evidence
    detail value in words (`human`)."""
    pattern = re.compile(re.escape(home.rstrip("/")) + r"(?=/|$|[\s;,:)'\"])") if home else None

    def walk(value: Any, key: str | None) -> Any:
        if isinstance(value, str):
            return _homeless(value, pattern)
        if isinstance(value, Mapping):
            if key == "details":
                return {
                    _homeless(str(k), pattern): _homeless(human(v), pattern)
                    for k, v in value.items()
                }
            return {k: walk(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v, key) for v in value]
        return value

    return walk(data, None)
