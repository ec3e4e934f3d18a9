"""Hugging Face model folders: remote code, chat templates and the model card's pedigree.

A folder saved by `save_pretrained` (or cloned from the Hub) is read by `transformers` through a
few JSON files, and two of them can make loading run code:

- `config.json` / `tokenizer_config.json` `auto_map` (`{"AutoModelForCausalLM":
  "modeling_x.XForCausalLM"}`, or `"org/repo--modeling_x.X"` for code in another repository)
  sends `from_pretrained(..., trust_remote_code=True)` to import those Python modules
  ⇒ `hf.remote-code` (high), naming the classes and which `.py` files the folder ships.
- the chat template (`tokenizer_config.json` `chat_template`, `chat_template.jinja`,
  `chat_template.json`) is a Jinja2 program ⇒ `hf.chat-template-injection` through the same check
  as GGUF (`gguf.inspect_chat_template`).

The model card (`README.md` YAML front-matter: `license`, `base_model`, `datasets`, `language`,
`pipeline_tag`, `library_name`, `tags`) gives the AI-BOM its pedigree; `base_model` and
`datasets` become the component's `base_models` and `datasets` (the engine makes the `data`
components). Every file is read with a size cap; YAML with `yaml.safe_load` on a capped block.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sumun.scan.formats.gguf import TEMPLATE_LIMIT, inspect_chat_template
from sumun.scan.model import Component, FileResult, Finding, Severity

__all__ = ["analyze_folder", "read_front_matter"]

_JSON_LIMIT = 16 << 20
_CARD_LIMIT = 256 << 10
_MAX_ITEMS = 64
_CAP = 256
_HF_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
_HF_CONFIG_KEYS = (
    "architectures",
    "model_type",
    "auto_map",
    "_name_or_path",
    "transformers_version",
)
_CARD_MODEL_KEYS = ("base_model", "pipeline_tag", "library_name", "model-index", "model_name")
_WEIGHTS = (".safetensors", ".bin", ".gguf", ".onnx", ".h5", ".keras", ".pt", ".pth", ".ckpt")


class _Unreadable(Exception):  # noqa: N818 — internal signal, never escapes this module
    pass


@dataclass(slots=True)
class _Folder:
    folder: str
    files: Mapping[str, Path]
    findings: list[Finding] = field(default_factory=list)

    def rel(self, name: str) -> str:
        return name if self.folder in ("", ".") else posixpath.join(self.folder, name)

    def finding(self, name: str, severity: Severity, rule: str, message: str) -> None:
        self.findings.append(Finding(self.rel(name), severity, rule, message))

    def read(self, name: str, limit: int) -> str | None:
        """The file's text, None when absent; `_Unreadable` (with a finding) when too large."""
        path = self.files.get(name)
        if path is None:
            return None
        try:
            with path.open("rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            self.finding(name, Severity.INFO, "hf.parse-error", f"cannot read: {exc}")
            raise _Unreadable from None
        if len(data) > limit:
            self.finding(
                name, Severity.MEDIUM, "hf.parse-error", f"larger than {limit} bytes: not inspected"
            )
            raise _Unreadable
        return data.decode("utf-8", "replace")

    def json(self, name: str) -> dict[str, Any] | None:
        try:
            text = self.read(name, _JSON_LIMIT)
        except _Unreadable:
            return None
        if text is None:
            return None
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            self.finding(name, Severity.INFO, "hf.parse-error", f"not JSON: {exc}"[:300])
            return None
        return value if isinstance(value, dict) else None


def analyze_folder(folder: str, files: Mapping[str, Path]) -> FileResult:
    """`folder`: the directory's path relative to the scan root; `files`: its file names mapped to
    absolute paths. Never raises on bad input. Returns no component when the folder is not a
    model folder (a `config.json` of some other program, a blog post's front-matter)."""
    result = FileResult("huggingface")
    state = _Folder(folder, files)
    config = state.json("config.json")
    if config is not None and not any(key in config for key in _HF_CONFIG_KEYS):
        config = None
    tokenizer = state.json("tokenizer_config.json")
    card = _card(state)

    remote = _remote_code(state, "config.json", config) + _remote_code(
        state, "tokenizer_config.json", tokenizer
    )
    _templates(state, tokenizer)
    is_model = (
        config is not None
        or any(key in card for key in _CARD_MODEL_KEYS)
        or any(name.endswith(_WEIGHTS) for name in files)
    )
    if is_model:
        result.components.append(_component(state, config or {}, card, remote))
        _python_files_note(state, remote)
    result.findings.extend(state.findings)
    return result


# --- remote code ---------------------------------------------------------------------------------
def _remote_code(state: _Folder, name: str, config: dict[str, Any] | None) -> list[str]:
    if config is None:
        return []
    auto_map = config.get("auto_map")
    if not isinstance(auto_map, dict) or not auto_map:
        return []
    refs: list[str] = []
    for value in list(auto_map.values())[:_MAX_ITEMS]:
        items = value if isinstance(value, list) else [value]
        refs.extend(item[:_CAP] for item in items if isinstance(item, str) and item)
    refs = list(dict.fromkeys(refs))
    if not refs:
        return []
    foreign = [ref for ref in refs if "--" in ref]
    modules = {ref.split("--")[-1].rsplit(".", 1)[0] for ref in refs}
    shipped = sorted(m + ".py" for m in modules if m + ".py" in state.files)
    message = (
        f"auto_map maps {', '.join(sorted(str(k) for k in auto_map)[:8])} to "
        f"{', '.join(refs[:8])}: from_pretrained(..., trust_remote_code=True) imports and runs "
        "this Python code"
    )
    if shipped:
        message += f" (shipped here: {', '.join(shipped[:8])})"
    if foreign:
        message += f"; code is fetched from other repositories: {', '.join(foreign[:4])}"
    state.finding(name, Severity.HIGH, "hf.remote-code", message)
    return refs


def _python_files_note(state: _Folder, remote: list[str]) -> None:
    """`.py` files in a model folder that no auto_map names: nothing in transformers runs them,
    but they travel with the model (e.g. an Inference Endpoints `handler.py`)."""
    named = {ref.split("--")[-1].rsplit(".", 1)[0] + ".py" for ref in remote}
    scripts = sorted(name for name in state.files if name.endswith(".py") and name not in named)
    if scripts:
        state.finding(
            scripts[0],
            Severity.INFO,
            "hf.python-files",
            f"the model folder ships Python files no auto_map names ({', '.join(scripts[:8])}): "
            "transformers does not run them, other tools may (handler.py on Inference Endpoints)",
        )


# --- chat templates ------------------------------------------------------------------------------
def _templates(state: _Folder, tokenizer: dict[str, Any] | None) -> None:
    found: list[tuple[str, str, str]] = []  # (file, where, template)
    if tokenizer is not None:
        value = tokenizer.get("chat_template")
        if isinstance(value, str):
            found.append(("tokenizer_config.json", "chat_template", value))
        elif isinstance(value, list):
            for item in value[:_MAX_ITEMS]:
                if isinstance(item, dict) and isinstance(item.get("template"), str):
                    label = f"chat_template[{str(item.get('name', '?'))[:64]}]"
                    found.append(("tokenizer_config.json", label, item["template"]))
    try:
        jinja = state.read("chat_template.jinja", TEMPLATE_LIMIT)
    except _Unreadable:
        jinja = None
    if jinja is not None:
        found.append(("chat_template.jinja", "chat_template.jinja", jinja))
    processor = state.json("chat_template.json")
    if processor is not None and isinstance(processor.get("chat_template"), str):
        found.append(("chat_template.json", "chat_template", processor["chat_template"]))
    for name, where, template in found:
        if len(template) > TEMPLATE_LIMIT:
            state.finding(
                name,
                Severity.HIGH,
                "hf.chat-template-oversized",
                f"{where} is {len(template)} characters, more than this scanner inspects; no real "
                "chat template is this large — inspect it before rendering",
            )
            continue
        verdict = inspect_chat_template(template)
        if verdict.severity is not None:
            state.finding(
                name, verdict.severity, "hf.chat-template-injection", verdict.message(where)
            )


# --- the model card ------------------------------------------------------------------------------
def read_front_matter(text: str) -> dict[str, Any]:
    """The YAML front-matter of a model card (`---` … `---` at the top), {} when absent or bad.

    `text` SHOULD already be capped by the caller; parsing uses `yaml.safe_load` (no tags, no
    objects) and only a mapping is returned.
    """
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            block = "\n".join(lines[1:index])
            break
    else:
        return {}
    try:
        value = yaml.safe_load(block)
    except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError):
        return {}
    return value if isinstance(value, dict) else {}


def _card(state: _Folder) -> dict[str, Any]:
    name = next((n for n in ("README.md", "readme.md", "README.MD") if n in state.files), None)
    if name is None:
        return {}
    path = state.files[name]
    try:
        with path.open("rb") as handle:
            text = handle.read(_CARD_LIMIT).decode("utf-8", "replace")
    except OSError:
        return {}
    return read_front_matter(text)


def _strings(value: object) -> tuple[str, ...]:
    """A str or a list of scalars as a tuple of capped, non-empty strings."""
    items = value if isinstance(value, list) else [value]
    out = [
        str(item).strip()[:_CAP]
        for item in items[:_MAX_ITEMS]
        if isinstance(item, str | int | float) and not isinstance(item, bool) and str(item).strip()
    ]
    return tuple(dict.fromkeys(out))


def _component(
    state: _Folder, config: dict[str, Any], card: dict[str, Any], remote: list[str]
) -> Component:
    name_or_path = config.get("_name_or_path")
    model_id = (
        name_or_path if isinstance(name_or_path, str) and _HF_ID.match(name_or_path) else None
    )
    folder_name = (
        posixpath.basename(state.folder.rstrip("/")) if state.folder not in ("", ".") else ""
    )
    name = model_id or _first(card.get("model_name")) or folder_name or "model"
    publisher = model_id.split("/", 1)[0] if model_id else None

    license_ = _first(card.get("license"))
    if license_ == "other":
        license_ = _first(card.get("license_name")) or license_

    props: list[tuple[str, str]] = [("format", "huggingface")]
    for key, prop in (
        ("architectures", "architectures"),
        ("model_type", "model_type"),
        ("transformers_version", "transformers_version"),
        ("torch_dtype", "torch_dtype"),
    ):
        values = _strings(config.get(key))
        if values:
            props.append((prop, ",".join(values)))
    quant = config.get("quantization_config")
    if isinstance(quant, dict) and isinstance(quant.get("quant_method"), str):
        props.append(("quantization", quant["quant_method"][:_CAP]))
    for key in ("language", "pipeline_tag", "library_name", "tags", "base_model_relation"):
        values = _strings(card.get(key))
        if values:
            props.append((key, ",".join(values)))
    weights = sorted(n for n in state.files if n.endswith(_WEIGHTS))
    if weights:
        props.append(("weights", ",".join(weights[:_MAX_ITEMS])))
    if remote:
        props.append(("remote_code", ",".join(remote[:_MAX_ITEMS])))
    return Component(
        type="machine-learning-model",
        name=name[:_CAP],
        path=state.folder or ".",
        publisher=publisher,
        license=license_,
        base_models=_strings(card.get("base_model")),
        datasets=_strings(card.get("datasets")),
        properties=tuple(props),
    )


def _first(value: object) -> str | None:
    values = _strings(value)
    return values[0] if values else None
