"""Trusted ML types: what scikit-learn, XGBoost, LightGBM, CatBoost, SciPy and pandas write.

Every fixture is built here, at test time, by the real library at the pinned version
(constraints.txt), then dumped with `pickle` and `joblib` as their users do. The scanner must
stay quiet on them, and must still shout when the same trusted objects travel with a payload.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import pickle
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest

from sumun.scan.formats import pickle as pickle_format
from sumun.scan.formats._pickle_policy import (
    DEFAULT_ALLOWED,
    DEFAULT_POLICY,
    load_trusted_types,
    parse_trusted_types,
)
from sumun.scan.model import FileResult, Severity, Source
from tests.scan.formats import trusted_observe

pytestmark = pytest.mark.filterwarnings("ignore")


def _analyze(data: bytes, name: str = "model.pkl") -> FileResult:
    return pickle_format.analyze(
        Source(name, len(data), data[:4096], lambda: io.BytesIO(data)), policy=DEFAULT_POLICY
    )


def _loud(result: FileResult) -> list[tuple[str, str, str]]:
    return [
        (f.severity.label, f.rule, f.message)
        for f in result.findings
        if f.severity >= Severity.MEDIUM
    ]


def _dumps(obj: object, tmp_path: Path) -> dict[str, bytes]:
    """The ways people save a model: pickle's default protocol, joblib plain and compressed."""
    out = {"pickle": pickle.dumps(obj)}
    for label, compress in (("joblib", 0), ("joblib-zlib3", 3), ("joblib-lzma", ("lzma", 3))):
        path = tmp_path / f"m.{label}"
        joblib.dump(obj, path, compress=compress)
        out[label] = path.read_bytes()
    return out


# --- one family at a time, built by the real library ---------------------------------------------
def _sklearn() -> list[object]:
    import pandas as pd

    x, y = trusted_observe._data()
    texts = ["the cat sat", "a dog ran", "cats and dogs", "the end"] * 5
    return trusted_observe._sklearn_composites(x, y, texts, pd)


def _sklearn_estimators() -> list[object]:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    x, y = trusted_observe._data()
    return [
        RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y),
        GradientBoostingClassifier(n_estimators=5).fit(x, y),
        LogisticRegression().fit(x, y),
        Ridge().fit(x, y),
        SVC(probability=True).fit(x, y),
        KNeighborsClassifier().fit(x, y),
    ]


def _built(family: str) -> list[object]:
    out = []
    for _what, build in trusted_observe.samples()[family]:
        out.append(build())
    return out


FAMILIES: dict[str, Callable[[], list[object]]] = {
    "scikit-learn composites": _sklearn,
    "scikit-learn estimators": _sklearn_estimators,
    "xgboost": lambda: _built("xgboost"),
    "lightgbm": lambda: _built("lightgbm"),
    "catboost": lambda: _built("catboost"),
    "scipy sparse": lambda: _built("scipy"),
    "pandas": lambda: _built("pandas"),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_what_the_library_writes_is_quiet(family: str, tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        objects = FAMILIES[family]()
    assert objects
    for obj in objects:
        for how, data in _dumps(obj, tmp_path).items():
            result = _analyze(data, f"model.{how}")
            assert _loud(result) == [], (family, type(obj).__name__, how)


def test_the_model_is_still_described_in_the_bom(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = trusted_observe._data()
    result = _analyze(pickle.dumps(LogisticRegression().fit(x, y)))
    assert result.findings == []
    assert dict(result.components[0].properties)["framework"] == "sklearn"


# --- the table is what the pinned libraries write ------------------------------------------------
@pytest.fixture(scope="module")
def observed() -> tuple[dict[str, set[str]], list[str]]:
    return trusted_observe.observe()


def test_the_table_covers_every_global_the_pinned_libraries_write(
    observed: tuple[dict[str, set[str]], list[str]],
) -> None:
    seen, skipped = observed
    # meta-estimators cannot be built without an inner estimator: the composites cover them
    assert all(why.endswith("TypeError") for why in skipped), skipped
    assert len(seen) > 300
    table = load_trusted_types()
    missing = []
    for name, modes in seen.items():
        if name in DEFAULT_ALLOWED or trusted_observe._family_of(name) is None:
            continue
        entry = table.get(name)
        if entry is None or not (modes - {"ref"}) <= entry.modes:
            missing.append((name, sorted(modes)))
    assert missing == [], "regenerate: python -m tests.scan.formats.trusted_observe"


def test_the_table_names_the_versions_it_was_made_with() -> None:
    families = {t.family: t.made_with for t in load_trusted_types().values()}
    assert {"scikit-learn", "xgboost", "lightgbm", "catboost", "scipy", "pandas"} <= set(families)
    for made_with in families.values():
        dist, version = made_with.split("==")
        assert importlib.metadata.version(dist) == version, made_with


def test_everything_outside_the_families_is_stdlib_the_policy_already_judges(
    observed: tuple[dict[str, set[str]], list[str]],
) -> None:
    seen, _ = observed
    outside = {
        n for n in seen if trusted_observe._family_of(n) is None and n not in DEFAULT_ALLOWED
    }
    assert outside <= {
        "__builtin__.bytearray",
        "__builtin__.bytes",
        "__builtin__.dict",
        "__builtin__.slice",
        "__builtin__.getattr",
        "builtins.getattr",
        "copy_reg._reconstructor",
        "functools.partial",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("format: 2\nfamilies: {}\n", "format"),
        ("format: 1\nfamilies:\n  x:\n    types:\n      os.system: [call]\n", "danger"),
        ("format: 1\nfamilies:\n  x:\n    types:\n      bare: [new]\n", "module.name"),
        ("format: 1\nfamilies:\n  x:\n    types:\n      a.B: [run]\n", "modes"),
        ("format: 1\nfamilies:\n  x:\n    types:\n      functools.partial: [call]\n", "danger"),
    ],
)
def test_a_bad_table_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_trusted_types(text)


# --- trusted objects do not launder a payload ---------------------------------------------------
class _Payload:
    def __init__(self, func: Callable[..., Any], arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (self.func, (self.arg,))


def _pipeline() -> object:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = trusted_observe._data()
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)


@pytest.mark.parametrize(
    ("func", "rule"),
    [(os.system, "os.system"), (eval, "builtins.eval"), (exec, "builtins.exec")],
)
def test_a_trusted_pipeline_carrying_a_dangerous_call_is_critical(
    func: Callable[..., Any], rule: str, tmp_path: Path
) -> None:
    pipe = _pipeline()
    pipe.steps[0][1].hook = _Payload(func, "echo pwned")  # type: ignore[attr-defined]
    for how, data in _dumps(pipe, tmp_path).items():
        result = _analyze(data, f"model.{how}")
        critical = [f for f in result.findings if f.severity is Severity.CRITICAL]
        assert critical, how
        assert any(rule.rsplit(".", maxsplit=1)[-1] in f.message for f in critical), how


def test_a_trusted_class_called_with_arguments_is_not_trusted() -> None:
    from sklearn.pipeline import Pipeline

    class Reduced:
        def __reduce__(self) -> tuple[object, tuple[list[object]]]:
            return (Pipeline, ([],))

    result = _analyze(pickle.dumps(Reduced()))
    assert [(f.severity, f.rule) for f in result.findings] == [
        (Severity.HIGH, "pickle.unknown-global")
    ]
    assert "called with arguments" in result.findings[0].message


def test_getattr_of_a_literal_attribute_is_judged_as_that_attribute() -> None:
    import pandas as pd

    frame = pd.DataFrame({"t": pd.date_range("2026-01-01", periods=2, tz="Asia/Seoul")})
    assert _loud(_analyze(pickle.dumps(frame))) == []  # zoneinfo.ZoneInfo._unpickle

    from tests.data.scan.gen_pickle import G, R, dumps

    getattr_ = G("builtins", "getattr")
    dunder = dumps(R(getattr_, (G("builtins", "object"), "__subclasses__")), 4)
    assert ("critical", "pickle.dangerous-global") in {
        (s, r) for s, r, _ in _loud(_analyze(dunder))
    }
    unlink = dumps(R(R(getattr_, (G("pathlib", "Path"), "unlink")), ("/etc/passwd",)), 4)
    loud = _loud(_analyze(unlink))
    assert any(s == "high" and "pathlib.Path.unlink" in m for s, _, m in loud), loud
    chained = dumps(R(getattr_, (R(G("builtins", "__import__"), ("os",)), "system")), 4)
    assert any(s == "critical" for s, _, _ in _loud(_analyze(chained)))


def test_partial_is_trusted_only_around_an_allowed_function() -> None:
    import functools

    from sklearn.utils.validation import check_array

    assert _loud(_analyze(pickle.dumps(functools.partial(check_array, ensure_2d=False)))) == []
    bad = _loud(_analyze(pickle.dumps(functools.partial(os.system, "id"))))
    assert any(severity == "critical" for severity, _, _ in bad)

    class Swapped:  # the BUILD state replaces the function
        def __reduce__(self) -> tuple[object, ...]:
            return (functools.partial, (check_array,), (os.system, ("id",), {}, None))

    swapped = _loud(_analyze(pickle.dumps(Swapped())))
    assert any(severity == "critical" for severity, _, _ in swapped)


def test_numpy_arrays_inside_joblib_still_parse_with_trusted_types(tmp_path: Path) -> None:
    from scipy import sparse

    obj = {"m": sparse.random(50, 50, density=0.1, format="csr"), "a": np.arange(1000.0)}
    for how, data in _dumps(obj, tmp_path).items():
        assert _loud(_analyze(data, f"model.{how}")) == [], how


# --- a project's own classes -------------------------------------------------------------------
def _sumun(*args: str) -> tuple[int, dict[str, Any], str]:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    done = subprocess.run(
        [sys.executable, "-m", "sumun.cli.main", "scan", *args, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout or "{}"), done.stderr


def test_a_project_class_is_medium_and_trust_module_allows_it(tmp_path: Path) -> None:
    from tests.data.scan.gen_pickle import project_class_streams

    for name, (data, _) in project_class_streams().items():
        (tmp_path / name).write_bytes(data)
    code, report, _ = _sumun(str(tmp_path))
    assert code == 0
    severities = {(f["path"], f["severity"]) for f in report["findings"]}
    assert severities == {(name, "medium") for name in project_class_streams()}
    assert all("--trust-module my_project" in f["message"] for f in report["findings"])
    code, report, _ = _sumun(str(tmp_path), "--trust-module", "my_project")
    assert (code, report["findings"]) == (0, [])
    code, _, err = _sumun(str(tmp_path), "--trust-module", "os system")
    assert code == 2 and "--trust-module" in err


def test_trusting_a_module_never_allows_a_dangerous_call(tmp_path: Path) -> None:
    from tests.data.scan.gen_pickle import malicious_streams

    data, _ = malicious_streams()["project_class_with_system.pkl"]
    (tmp_path / "model.pkl").write_bytes(data)
    code, report, _ = _sumun(str(tmp_path), "--trust-module", "my_project", "--trust-module", "os")
    assert code == 1
    assert any(f["severity"] == "critical" for f in report["findings"])
