"""Which globals the ML libraries' own pickles import, and how: the source of the trusted types.

`sumun/scan/data/trusted_types.yaml` is never written by hand. This module builds real objects
with the pinned libraries (every scikit-learn estimator `all_estimators()` lists, fitted on a tiny
data set, plus the composites people save: pipelines, column transformers, searches, ensembles;
XGBoost, LightGBM and CatBoost models and boosters; SciPy sparse matrices and arrays; pandas
frames, series, indexes and extension arrays), pickles each at protocols 2 to 5, and replays the
bytes with a recording unpickler (CPython's own pure-Python `pickle._Unpickler`, so the names are
exactly what `pickle.load` resolves). For every global it records the modes seen:

- `new`: instantiated as a class (`NEWOBJ`/`NEWOBJ_EX`, or the class argument of
  `copyreg._reconstructor` / `copyreg.__newobj__`), then given its state by BUILD;
- `call`: called with arguments (`REDUCE`, or the base class of `copyreg._reconstructor` whose
  `__init__` runs);
- `ref`: only referenced (a class or function stored as a value).

Loading here is fine: these are pickles this process just made from objects it built.

    python -m tests.scan.formats.trusted_observe     # rewrite the table for the pinned versions

(the same in-process observation backs `test_trusted_types.py`, which fails when the table no
longer covers what the pinned libraries write).
"""

from __future__ import annotations

import copyreg
import importlib.metadata
import io
import pickle
import sys
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["FAMILIES", "observe", "render", "samples"]

Modes = dict[str, set[str]]

# family -> (distribution whose version the entries were made with, top-level module names)
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "scikit-learn": ("scikit-learn", ("sklearn",)),
    "xgboost": ("xgboost-cpu", ("xgboost",)),
    "lightgbm": ("lightgbm", ("lightgbm",)),
    "catboost": ("catboost", ("catboost", "_catboost")),
    "scipy": ("scipy", ("scipy",)),
    "pandas": ("pandas", ("pandas", "dateutil", "zoneinfo")),  # with what its objects hold
    "numpy": ("numpy", ("numpy",)),
}

_NEW_FUNCS = (copyreg._reconstructor, copyreg.__newobj__, copyreg.__newobj_ex__)  # type: ignore[attr-defined]
_PROTOCOLS = (2, 3, 4, 5)


class _Recorder(pickle._Unpickler):  # type: ignore[name-defined,misc]
    """CPython's pure-Python unpickler, noting how each resolved global is used."""

    def __init__(self, data: bytes, seen: Modes) -> None:
        super().__init__(io.BytesIO(data))
        self.seen = seen
        self.names: dict[int, str] = {}
        self.keep: list[object] = []

    def find_class(self, module: str, name: str) -> Any:
        obj = super().find_class(module, name)
        key = f"{module}.{name}"
        self.names[id(obj)] = key
        self.keep.append(obj)
        self.seen[key].add("ref")
        return obj

    def _mark(self, obj: object, mode: str) -> None:
        key = self.names.get(id(obj))
        if key is not None:
            self.seen[key].add(mode)

    def load_reduce(self) -> None:
        args = self.stack[-1]
        func = self.stack[-2]
        if any(func is f for f in _NEW_FUNCS) and args:
            self._mark(args[0], "new")
            if func is copyreg._reconstructor and len(args) > 1 and args[1] is not object:  # type: ignore[attr-defined]
                self._mark(args[1], "call")
        else:
            self._mark(func, "call")
        super().load_reduce()
        owner = self.names.get(id(args[0])) if isinstance(args, tuple) and args else None
        if func is getattr and owner is not None and len(args) == 2:
            # getattr(cls, "name"): the scanner judges the result as the global cls.name
            result = self.stack[-1]
            key = f"{owner}.{args[1]}"
            self.names[id(result)] = key
            self.keep.append(result)
            self.seen[key].add("ref")

    def load_newobj(self) -> None:
        self._mark(self.stack[-2], "new")
        super().load_newobj()

    def load_newobj_ex(self) -> None:
        self._mark(self.stack[-3], "new")
        super().load_newobj_ex()

    def load_inst(self) -> None:  # protocol 0/1 only; recorded, never expected
        self.seen["<INST>"].add("call")
        super().load_inst()

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]  # noqa: RUF012
    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.INST[0]] = load_inst


def record(obj: object, seen: Modes) -> None:
    """Pickle `obj` at every protocol from 2 and note the globals each replay uses."""
    for proto in _PROTOCOLS:
        _Recorder(pickle.dumps(obj, protocol=proto), seen).load()


# --- the objects ---------------------------------------------------------------------------------
def _data() -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=60, n_features=6, n_informative=3, random_state=0)
    return abs(x), y


def _sklearn() -> Iterator[tuple[str, Callable[[], object]]]:
    import numpy as np
    import pandas as pd
    from sklearn.utils import all_estimators

    x, y = _data()
    y_reg = x[:, 0] * 2.0 + 0.5
    y_multi = np.column_stack([y_reg, y_reg * 0.5])
    texts = ["the cat sat", "a dog ran", "cats and dogs", "the end"] * 5
    labels = ["a", "b", "c", "a"] * 5

    def fitted(cls: type) -> object:
        est = cls()
        for args in ((x, y), (x,), (x, y_multi), (x[:, 0], y_reg), (texts,), (labels,)):
            try:
                return est.fit(*args)
            except Exception:  # noqa: S112 - try the next kind of data
                continue
        return est  # unfitted: still what people pickle (a configured estimator)

    for name, cls in all_estimators():
        yield f"sklearn {name}", lambda cls=cls: fitted(cls)
    yield "sklearn composites", lambda: _sklearn_composites(x, y, texts, pd)


def _sklearn_composites(x: Any, y: Any, texts: list[str], pd: Any) -> list[object]:
    import numpy as np
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        RandomForestClassifier,
        StackingClassifier,
        VotingClassifier,
    )
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        LabelEncoder,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )
    from sklearn.tree import DecisionTreeClassifier

    frame = pd.DataFrame(
        {
            "age": x[:, 0],
            "income": x[:, 1],
            "city": pd.Categorical(["seoul", "busan", "incheon"] * 20),
            "segment": ["retail", "corporate"] * 30,
        }
    )
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["age", "income"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["city"]),
            ("ord", OrdinalEncoder(), ["segment"]),
        ]
    )
    return [
        Pipeline([("prep", columns), ("model", LogisticRegression())]).fit(frame, y),
        make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, [0, 1, 1, 0] * 5),
        FeatureUnion([("a", StandardScaler()), ("b", FunctionTransformer(np.log1p))]).fit(x),
        FunctionTransformer(np.log1p, inverse_func=np.expm1).fit(x),
        GridSearchCV(DecisionTreeClassifier(), {"max_depth": [1, 2]}, cv=2).fit(x, y),
        RandomizedSearchCV(
            LogisticRegression(), {"C": [0.1, 1.0]}, n_iter=2, cv=2, random_state=0
        ).fit(x, y),
        VotingClassifier([("lr", LogisticRegression()), ("dt", DecisionTreeClassifier())]).fit(
            x, y
        ),
        StackingClassifier(
            [("rf", RandomForestClassifier(n_estimators=3))], LogisticRegression(), cv=2
        ).fit(x, y),
        OneVsRestClassifier(LogisticRegression()).fit(x, y),
        CalibratedClassifierCV(LogisticRegression(), cv=2).fit(x, y),
        HistGradientBoostingClassifier(max_iter=3, categorical_features=[0]).fit(
            np.floor(x * 3), y
        ),
        TransformedTargetRegressor(LinearRegression(), func=np.log1p, inverse_func=np.expm1).fit(
            x, x[:, 0] + 1
        ),
        LabelEncoder().fit(["no", "yes", "no"]),
        frame,  # what a ColumnTransformer fits on, pickled with it in notebooks
    ]


def _xgboost() -> Iterator[tuple[str, Callable[[], object]]]:
    import xgboost as xgb

    x, y = _data()
    yield "xgboost XGBClassifier", lambda: xgb.XGBClassifier(n_estimators=3).fit(x, y)
    yield "xgboost XGBRegressor", lambda: xgb.XGBRegressor(n_estimators=3).fit(x, y)
    yield "xgboost XGBRFClassifier", lambda: xgb.XGBRFClassifier(n_estimators=3).fit(x, y)
    yield (
        "xgboost XGBRanker",
        lambda: xgb.XGBRanker(n_estimators=3).fit(x, y, qid=[i // 10 for i in range(60)]),
    )
    yield (
        "xgboost Booster",
        lambda: xgb.train({"max_depth": 2}, xgb.DMatrix(x, label=y), num_boost_round=3),
    )


def _lightgbm() -> Iterator[tuple[str, Callable[[], object]]]:
    import lightgbm as lgb

    x, y = _data()
    small = {"n_estimators": 3, "min_child_samples": 2, "verbose": -1}
    yield "lightgbm LGBMClassifier", lambda: lgb.LGBMClassifier(**small).fit(x, y)
    yield "lightgbm LGBMRegressor", lambda: lgb.LGBMRegressor(**small).fit(x, y)
    yield (
        "lightgbm Booster",
        lambda: lgb.train(
            {"verbose": -1, "min_data_in_leaf": 2}, lgb.Dataset(x, label=y), num_boost_round=3
        ),
    )


def _catboost() -> Iterator[tuple[str, Callable[[], object]]]:
    import catboost as cb

    x, y = _data()
    quiet = {"iterations": 3, "verbose": False, "allow_writing_files": False}
    yield "catboost CatBoostClassifier", lambda: cb.CatBoostClassifier(**quiet).fit(x, y)
    yield "catboost CatBoostRegressor", lambda: cb.CatBoostRegressor(**quiet).fit(x, y)
    yield "catboost CatBoost", lambda: cb.CatBoost(dict(quiet)).fit(x, y)


def _scipy() -> Iterator[tuple[str, Callable[[], object]]]:
    import numpy as np
    from scipy import sparse

    dense = np.eye(4)
    for kind in ("csr", "csc", "coo", "bsr", "dia", "lil", "dok"):
        yield f"scipy {kind}_matrix", lambda k=kind: getattr(sparse, f"{k}_matrix")(dense)
        yield f"scipy {kind}_array", lambda k=kind: getattr(sparse, f"{k}_array")(dense)


def _pandas() -> Iterator[tuple[str, Callable[[], object]]]:
    import numpy as np
    import pandas as pd

    def frame() -> object:
        return pd.DataFrame(
            {
                "i": np.arange(4),
                "f": np.linspace(0, 1, 4),
                "b": [True, False, True, False],
                "o": ["a", None, "c", "d"],
                "s": pd.array(["a", "b", None, "d"], dtype="string"),
                "ni": pd.array([1, None, 3, 4], dtype="Int64"),
                "nb": pd.array([True, None, False, True], dtype="boolean"),
                "nf": pd.array([1.0, None, 3.0, 4.0], dtype="Float64"),
                "c": pd.Categorical(["x", "y", "x", "z"]),
                "t": pd.date_range("2026-01-01", periods=4),
                "tz": pd.date_range("2026-01-01", periods=4, tz="Asia/Seoul"),
                "td": pd.to_timedelta([1, 2, 3, 4], unit="D"),
                "p": pd.period_range("2026-01", periods=4, freq="M"),
                "iv": pd.IntervalIndex.from_breaks([0, 1, 2, 3, 4]),
                "sp": pd.arrays.SparseArray([0, 0, 1, 0]),
            }
        )

    yield "pandas DataFrame", frame
    yield "pandas Series", lambda: pd.Series([1.5, 2.5], index=["a", "b"], name="x")
    yield (
        "pandas indexes",
        lambda: [
            pd.RangeIndex(5),
            pd.Index([1, 2]),
            pd.Index(["a", "b"]),
            pd.MultiIndex.from_tuples([("a", 1), ("b", 2)]),
            pd.DatetimeIndex(["2026-01-01"]),
            pd.CategoricalIndex(["a", "b"]),
            pd.TimedeltaIndex(["1D"]),
            pd.PeriodIndex(["2026-01"], freq="M"),
            pd.IntervalIndex.from_breaks([0, 1]),
        ],
    )
    yield (
        "pandas scalars",
        lambda: [
            pd.Timestamp("2026-01-01"),
            pd.Timestamp("2026-01-01", tz="UTC"),
            pd.Timedelta("1D"),
            pd.Period("2026-01", freq="M"),
            pd.Interval(0, 1),
            pd.NaT,
            pd.NA,
            pd.DateOffset(days=1),
        ],
    )
    yield (
        "pandas frame with a MultiIndex",
        lambda: pd.DataFrame({"v": [1, 2]}, index=pd.MultiIndex.from_tuples([("a", 1), ("b", 2)])),
    )


def samples() -> dict[str, list[tuple[str, Callable[[], object]]]]:
    """family -> [(what, build)]; a build may fail (an estimator that needs special data)."""
    return {
        "scikit-learn": list(_sklearn()),
        "xgboost": list(_xgboost()),
        "lightgbm": list(_lightgbm()),
        "catboost": list(_catboost()),
        "scipy": list(_scipy()),
        "pandas": list(_pandas()),
    }


def observe() -> tuple[Modes, list[str]]:
    """(global -> modes over every sample, samples that could not be built or pickled)."""
    seen: Modes = defaultdict(set)
    skipped: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for items in samples().values():
            for what, build in items:
                try:
                    obj = build()
                    record(obj, seen)
                except Exception as exc:
                    skipped.append(f"{what}: {type(exc).__name__}")
    return dict(seen), skipped


def _family_of(name: str) -> str | None:
    root = name.split(".", maxsplit=1)[0]
    for family, (_dist, roots) in FAMILIES.items():
        if root in roots:
            return family
    return None


def render(seen: Modes, already_allowed: frozenset[str]) -> str:
    """The YAML table: per family, the distribution version and `name: [modes]`."""
    by_family: dict[str, dict[str, list[str]]] = defaultdict(dict)
    for name, modes in seen.items():
        family = _family_of(name)
        if family is None or name in already_allowed:
            continue  # stdlib and numpy basics live in _pickle_policy.DEFAULT_ALLOWED
        by_family[family][name] = sorted(modes - {"ref"}) or ["ref"]
    lines = [
        "# Trusted ML types: the globals scikit-learn, XGBoost, LightGBM, CatBoost, SciPy and",
        "# pandas pickles import, and how (new: instantiated as a class then BUILD; call: called",
        "# with arguments by REDUCE; ref: only referenced). Generated by",
        "# `python -m tests.scan.formats.trusted_observe` from real objects pickled at the pinned",
        "# versions below (protocols 2-5) — never edited by hand. In the spirit of skops' trusted",
        "# types (docs: skops.readthedocs.io, 'Secure persistence'). Loaded by",
        "# sumun/scan/formats/_pickle_policy.py.",
        "format: 1",
        "families:",
    ]
    for family in sorted(by_family):
        dist = FAMILIES[family][0]
        version = importlib.metadata.version(dist)
        major, minor = version.split(".")[:2]
        lines.append(f"  {family}:")
        lines.append(f"    made_with: {dist}=={version}")
        lines.append(f'    versions: ">={major}.{minor},<{major}.{int(minor) + 1}"')
        lines.append("    types:")
        for name in sorted(by_family[family]):
            lines.append(f"      {name}: [{', '.join(by_family[family][name])}]")
    return "\n".join(lines) + "\n"


def main() -> int:
    from sumun.scan.formats._pickle_policy import DEFAULT_ALLOWED

    seen, skipped = observe()
    out = Path(__file__).parents[3] / "src/sumun/scan/data/trusted_types.yaml"
    out.write_text(render(seen, DEFAULT_ALLOWED), encoding="utf-8")
    unexpected = sorted(n for n in seen if _family_of(n) is None and n not in DEFAULT_ALLOWED)
    print(f"wrote {out}; skipped {len(skipped)}: {skipped}")
    print(f"outside the families and not allowed by default: {unexpected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
