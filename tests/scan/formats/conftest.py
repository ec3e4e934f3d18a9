"""The generated format corpus, built once for every format test module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data.scan import gen_formats as gen


@pytest.fixture(scope="session")
def format_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[gen.Sample]]:
    root = tmp_path_factory.mktemp("format-corpus")
    return root, gen.generate(root)
