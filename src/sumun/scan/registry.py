"""Which analyzer handles which format, imported lazily.

The walker and the engine never import an analyzer module directly: they ask a `Registry` for
the callable behind a format name. Modules are imported on first use, in the process that uses
them (a worker process imports only what its files need), and a module that is not installed in
this build is *unavailable* rather than an error — the engine reports an `info` finding for files
it could not analyze, so a missing analyzer is visible, never silent.

A `Registry` holds only strings (`"package.module:function"`) or module-level functions, so it
pickles by reference into worker processes. Tests build their own with small fake analyzers.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, cast

from sumun.scan.model import Analyzer, FileResult

__all__ = [
    "DEFAULT_ANALYZERS",
    "DEFAULT_SNIFFERS",
    "FOLDER_ANALYZER",
    "FolderAnalyzer",
    "Registry",
    "Sniffer",
    "default_registry",
]

Sniffer = Callable[[bytes], bool]
FolderAnalyzer = Callable[[str, Mapping[str, Path]], FileResult]
Target = str | Callable[..., Any]

# Format name (as `identify` returns it) -> "module:function". Several formats may share a module.
DEFAULT_ANALYZERS: Mapping[str, str] = MappingProxyType(
    {
        "pickle": "sumun.scan.formats.pickle:analyze",
        "pytorch": "sumun.scan.formats.pytorch:analyze",
        "npy": "sumun.scan.formats.numpy:analyze",
        "npz": "sumun.scan.formats.numpy:analyze",
        "safetensors": "sumun.scan.formats.safetensors:analyze",
        "gguf": "sumun.scan.formats.gguf:analyze",
        "onnx": "sumun.scan.formats.onnx:analyze",
        "keras": "sumun.scan.formats.keras:analyze",
        "hdf5": "sumun.scan.formats.keras:analyze",
        "keras-json": "sumun.scan.formats.keras:analyze_json",
        "tensorflow": "sumun.scan.formats.tensorflow:analyze",
        "python": "sumun.scan.code.python:analyze",
        "javascript": "sumun.scan.code.patterns:analyze",
        "typescript": "sumun.scan.code.patterns:analyze",
        "java": "sumun.scan.code.patterns:analyze",
        "kotlin": "sumun.scan.code.patterns:analyze",
        "go": "sumun.scan.code.patterns:analyze",
        "env": "sumun.scan.code.config:analyze",
        "yaml": "sumun.scan.code.config:analyze",
        "json": "sumun.scan.code.config:analyze",
        "toml": "sumun.scan.code.config:analyze",
        "properties": "sumun.scan.code.config:analyze",
        "ini": "sumun.scan.code.config:analyze",
        "gomod": "sumun.scan.code.config:analyze",
        "requirements": "sumun.scan.code.config:analyze",
    }
)

# Magic-byte recognisers owned by the format modules; `identify` has a fallback for each.
DEFAULT_SNIFFERS: Mapping[str, str] = MappingProxyType(
    {
        "pickle": "sumun.scan.formats.pickle:sniff",
        "safetensors": "sumun.scan.formats.safetensors:sniff",
        "onnx": "sumun.scan.formats.onnx:looks_like_onnx",
        "keras-json": "sumun.scan.formats.keras:looks_like_keras_json",
    }
)

FOLDER_ANALYZER = "sumun.scan.formats.hf:analyze_folder"


def _resolve(target: Target) -> Callable[..., Any] | None:
    """The callable behind `target`, or None when its module is not part of this build.

    Only a *missing module* counts as unavailable: an analyzer module that exists but fails to
    import (a bug, a missing dependency of its own) raises, and the engine reports that.
    """
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None
        raise
    found = getattr(module, attr, None)
    return cast("Callable[..., Any] | None", found if callable(found) else None)


@dataclass(frozen=True, slots=True)
class Registry:
    """Format name -> analyzer; sniffer name -> `sniff(head)`; the Hugging Face folder analyzer.

    Values are `"module:function"` strings resolved on first use, or module-level callables.
    """

    analyzers: Mapping[str, Target] = field(default_factory=lambda: dict(DEFAULT_ANALYZERS))
    sniffers: Mapping[str, Target] = field(default_factory=lambda: dict(DEFAULT_SNIFFERS))
    folder: Target | None = FOLDER_ANALYZER
    # Resolved targets, per instance (a missing module is looked up once, not once per file).
    _resolved: dict[str, Callable[..., Any] | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def _get(self, target: Target) -> Callable[..., Any] | None:
        if not isinstance(target, str):
            return target
        if target not in self._resolved:
            self._resolved[target] = _resolve(target)
        return self._resolved[target]

    def handles(self, fmt: str) -> bool:
        return fmt in self.analyzers

    def analyzer(self, fmt: str) -> Analyzer | None:
        """The analyzer for `fmt`; None when no module handles it or the module is absent."""
        target = self.analyzers.get(fmt)
        return None if target is None else cast("Analyzer | None", self._get(target))

    def sniffer(self, name: str) -> Sniffer | None:
        target = self.sniffers.get(name)
        return None if target is None else cast("Sniffer | None", self._get(target))

    def preload(self) -> None:
        """Import every analyzer module now (before forking workers, so they share it)."""
        targets = [*self.analyzers.values(), *self.sniffers.values()]
        if self.folder is not None:
            targets.append(self.folder)
        for target in targets:
            with contextlib.suppress(Exception):  # reported per file when it matters
                self._get(target)

    def folder_analyzer(self) -> FolderAnalyzer | None:
        folder = self.folder
        return None if folder is None else cast("FolderAnalyzer | None", self._get(folder))


def default_registry() -> Registry:
    return Registry()
