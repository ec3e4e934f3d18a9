"""sumun.yaml read whole and validated, with every problem at its line.

`config.load` names a key path (`routes.0.targets.0.provider: …`) but no line; an operator
editing the file on a server wants the line. PyYAML's `compose()` keeps the start mark of every
node, so a pydantic error's `loc` is walked down the node tree to the deepest node that exists
(a missing key points at its parent mapping). An error the whole document raises (`loc` empty,
e.g. a route naming an unknown provider) is placed at the scalar its message quotes.

`read_settings` returns the file's exact bytes with the Settings made from them, so the hash a
reload records is the hash of what was validated.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sumun.config import Settings, _apply_env, _find_file
from sumun.errors import ConfigError

__all__ = [
    "FileProblem",
    "InvalidFilesError",
    "LoadedConfig",
    "line_of",
    "node_tree",
    "read_settings",
]


@dataclass(frozen=True, slots=True)
class FileProblem:
    """One reason a file is refused, at its 1-based line and column when known."""

    file: str
    line: int | None
    column: int | None
    message: str

    def render(self) -> str:
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}:{self.column or 1}: {self.message}"


class InvalidFilesError(ConfigError):
    """Some files are not valid; `problems` says where, one per error."""

    def __init__(self, problems: Sequence[FileProblem], *, advice: str | None = None) -> None:
        self.problems = tuple(problems)
        self.body: bytes | None = None  # the file's bytes, when it could be read
        lines = "; ".join(p.render() for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s): {lines}", advice=advice)


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    settings: Settings
    path: Path | None  # None: no file, every default
    body: bytes | None  # the file's exact bytes (what the settings were made from)
    root: yaml.Node | None  # its node tree, for line numbers of later checks


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value  # type: ignore[no-any-return]
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part]  # type: ignore[no-any-return]
    return None


def _find_scalar(node: yaml.Node, text: str) -> yaml.Node | None:
    """The first scalar value (not a key) equal to `text`, depth first."""
    if isinstance(node, yaml.ScalarNode):
        return node if node.value == text else None
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [value for _key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    for child in children:
        found = _find_scalar(child, text)
        if found is not None:
            return found
    return None


_QUOTED = re.compile(r"'([^']+)'")


def line_of(
    root: yaml.Node | None, loc: Sequence[str | int], message: str = ""
) -> tuple[int | None, int | None]:
    """(line, column), 1-based, of the node `loc` names — or of its deepest existing parent."""
    if root is None:
        return None, None
    node, walked = root, 0
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node, walked = child, walked + 1
    if walked == 0:
        for quoted in reversed(_QUOTED.findall(message)):
            found = _find_scalar(root, quoted)
            if found is not None:
                node = found
                break
        else:
            if not loc:
                return None, None
    mark = node.start_mark
    return mark.line + 1, mark.column + 1


def node_tree(path: Path | None) -> yaml.Node | None:
    """The node tree of a YAML file (None when there is none or it does not parse)."""
    if path is None:
        return None
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _compose(path: Path, text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = str(path)
        problem = f"not valid YAML: {exc.problem or exc}"
        if exc.context:
            problem = f"not valid YAML: {exc.context}, {exc.problem}"
        line, column = (None, None) if mark is None else (mark.line + 1, mark.column + 1)
        raise InvalidFilesError([FileProblem(where, line, column, problem)]) from exc
    except yaml.YAMLError as exc:
        found = FileProblem(str(path), None, None, f"not valid YAML: {exc}")
        raise InvalidFilesError([found]) from exc


def read_settings(config_file: Path | None, home: Path, env: Mapping[str, str]) -> LoadedConfig:
    """Settings exactly as `config.load` makes them; InvalidFilesError lists each problem at
    its line (`file:line:column: key.path: message`) and carries the bytes it refused."""
    path = _find_file(home, config_file, env)
    try:
        return _read(path, home, env)
    except InvalidFilesError as exc:
        if path is not None and exc.body is None:
            with contextlib.suppress(OSError):
                exc.body = path.read_bytes()
        raise


def _read(path: Path | None, home: Path, env: Mapping[str, str]) -> LoadedConfig:
    raw: dict[str, Any] = {}
    body: bytes | None = None
    root: yaml.Node | None = None
    if path is not None:
        try:
            body = path.read_bytes()
            text = body.decode("utf-8")
        except OSError as exc:
            raise InvalidFilesError([FileProblem(str(path), None, None, str(exc))]) from exc
        except UnicodeDecodeError as exc:
            problem = FileProblem(str(path), None, None, f"not UTF-8: {exc}")
            raise InvalidFilesError([problem]) from exc
        root = _compose(path, text)
        loaded = yaml.safe_load(text)
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            mark = None if root is None else root.start_mark
            line, column = (None, None) if mark is None else (mark.line + 1, mark.column + 1)
            problem = FileProblem(str(path), line, column, "the top level must be a mapping")
            raise InvalidFilesError([problem])
        raw = loaded
    raw.pop("home", None)  # as config.load: the home is never chosen by a file inside it
    _apply_env(raw, env)
    try:
        settings = Settings(home=home.resolve(), config_file=path, **raw)
    except ValidationError as exc:
        where = str(path) if path else "configuration"
        found = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
            key = ".".join(str(p) for p in loc)
            line, column = line_of(root, loc, str(err["msg"]))
            message = f"{key}: {err['msg']}" if key else str(err["msg"])
            found.append(FileProblem(where, line, column, message))
        raise InvalidFilesError(found) from exc
    except TypeError as exc:
        raise InvalidFilesError([FileProblem(str(path), None, None, str(exc))]) from exc
    return LoadedConfig(settings, path, body, root)
