"""The scan report in Korean and English, and a remediation line for every rule the scanner emits.

The rule ids are enumerated from the analyzers' source, not listed by hand: a finding is built
as `…(Severity.X, "family.rule", …)` (a call or a tuple), `too_large(source, "…")` or
`note(path, "…")`, with the rule a literal, a named constant, a conditional of literals, or one
of three f-strings whose values are known (`{language}.parse-error`, `{language}.too-large`,
`pickle.{event.kind}`). A new rule written in any of these shapes without a remediation fails
here; the corpus scan then checks that every rule actually emitted was enumerated.
"""

from __future__ import annotations

import ast
import html as html_lib
import re
from pathlib import Path

import pytest

from sumun.scan.code.patterns import _LANGUAGES
from sumun.scan.engine import scan
from sumun.scan.html import LABELS, SEVERITY_LABELS, render_html
from sumun.scan.remediation import REMEDIATIONS, remediation
from tests.data.scan.make_corpus import build
from tests.scan.test_bom import sample_result

SRC = Path(__file__).resolve().parents[2] / "src" / "sumun" / "scan"
_RULE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9-]*$")
_TEMPLATE = re.compile(r"^[a-z{][a-z0-9_{}.]*\.[a-z0-9_{}.-]+$")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _strings(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _is_severity(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id == "Severity":
            return True
        return node.attr == "severity"
    if isinstance(node, ast.IfExp):
        return _is_severity(node.body) or _is_severity(node.orelse)
    return isinstance(node, ast.Name) and "severity" in node.id.lower()


def _expand(template: str, languages: set[str], events: set[str]) -> set[str]:
    if template.startswith("{language}."):
        return {template.replace("{language}", lang) for lang in languages}
    if template == "pickle.{event.kind}":
        return {f"pickle.{kind}" for kind in events}
    raise AssertionError(f"a rule built by an f-string this test cannot expand: {template}")


def _candidates(tree: ast.AST, events: set[str]) -> list[ast.expr]:
    """Expressions in a rule's place: after a severity, or `too_large`/`note`'s second."""
    out: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple):
            elts = node.elts
            out += [elts[i + 1] for i in range(len(elts) - 1) if _is_severity(elts[i])]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        args = node.args
        if name == "event" and args and isinstance(args[0], ast.Constant):
            events.add(str(args[0].value))  # pickle events: their kind is the rule's suffix
        out += [args[i + 1] for i in range(len(args) - 1) if _is_severity(args[i])]
        if name in ("too_large", "note") and len(args) >= 2:
            out.append(args[1])
        out += [k.value for k in node.keywords if k.arg == "rule"]
    return out


def _template(node: ast.JoinedStr) -> str | None:
    text = "".join(
        str(v.value) if isinstance(v, ast.Constant) else ast.unparse(v) for v in node.values
    )
    return text if _TEMPLATE.match(text) else None  # None: a message after a severity


def emitted_rules() -> set[str]:
    """Every rule id the scanner's source can put in a Finding."""
    found: set[str] = set()
    templates: set[str] = set()
    events: set[str] = set()
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        names: dict[str, list[str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.setdefault(target.id, []).extend(_strings(node.value))
        for node in _candidates(tree, events):
            if isinstance(node, ast.JoinedStr):
                templates.update(t for t in [_template(node)] if t)
                continue
            values = names.get(node.id, []) if isinstance(node, ast.Name) else _strings(node)
            found.update(v for v in values if _RULE.match(v))
    languages = set(_LANGUAGES.values())
    for template in templates:
        found |= _expand(template, languages, events)
    return found


@pytest.fixture(scope="module")
def rules() -> set[str]:
    return emitted_rules()


def test_the_enumeration_sees_every_way_rules_are_written(rules: set[str]) -> None:
    # One of each shape: a literal call argument, a tuple, a named constant, a conditional,
    # the two f-string families, and the engine's and walker's own rules.
    for rule in (
        "pickle.dangerous-global",  # conditional of literals
        "pickle.nested-pickle",
        "keras.lambda-layer",  # (Severity, rule, message) tuple
        "safetensors.invalid-layout",  # _RULE_LAYOUT constant
        "python.too-large",  # too_large(source, "…")
        "typescript.parse-error",  # f"{language}.parse-error"
        "go.too-large",
        "pickle.setstate-injection",  # f"pickle.{event.kind}"
        "walk.symlink-loop",
        "scan.polyglot",
        "code.unpinned-model",
    ):
        assert rule in rules, rule
    assert "torch.load" not in rules and "config.json" not in rules  # names, not rules


def test_every_rule_has_a_remediation_in_korean_and_english(rules: set[str]) -> None:
    missing = sorted(r for r in rules if remediation(r) is None)
    assert missing == [], f"rules without a remediation line: {missing}"
    for rule in sorted(rules):
        fix = remediation(rule)
        assert fix is not None
        assert _HANGUL.search(fix.ko), f"{rule}: the Korean line has no Korean"
        assert fix.en and not _HANGUL.search(fix.en), f"{rule}: the English line"


def test_the_table_names_only_rules_that_exist(rules: set[str]) -> None:
    assert sorted(set(REMEDIATIONS) - rules) == []


def test_rules_emitted_on_the_corpus_are_enumerated_and_remedied(
    rules: set[str], tmp_path: Path
) -> None:
    build(tmp_path)
    seen = {f.rule for f in scan(tmp_path, workers=1).findings}
    assert len(seen) > 20
    assert sorted(seen - rules) == []


def _text(html: str) -> str:
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_the_page_is_korean_and_english_side_by_side() -> None:
    html = render_html(sample_result())
    assert html.startswith("<!DOCTYPE html>") and '<html lang="ko">' in html
    text = _text(html)
    for ko, en in LABELS.values():
        assert _HANGUL.search(ko) and not _HANGUL.search(en)
    for key in ("summary", "providers", "models", "findings", "region"):
        ko, en = LABELS[key]
        assert f"{ko} · {en}" in text, key
    assert "치명" in text and SEVERITY_LABELS["critical"][0] == "치명"


def test_each_finding_carries_its_remediation_in_both_languages() -> None:
    text = _text(render_html(sample_result()))
    trust = remediation("code.trust-remote-code")
    pickle = remediation("pickle.dangerous-global")
    assert trust is not None and pickle is not None
    assert f"조치: {trust.ko} Fix: {trust.en}" in text
    assert f"조치: {pickle.ko} Fix: {pickle.en}" in text
    assert "remove trust_remote_code" in trust.en and "safetensors" in pickle.en
    unpinned = remediation("code.unpinned-model")
    assert unpinned is not None and "pin the revision" in unpinned.en
