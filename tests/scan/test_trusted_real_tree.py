"""`sumun scan` on a data-science repository that the ML libraries wrote themselves.

The tree is built here, in pytest's tmp dir, by the installed scikit-learn, XGBoost, LightGBM,
CatBoost and pandas through their own default save functions (`pickle.dump`, `joblib.dump`,
`save_model`, `to_pickle`) — what a bank's repository of tabular models holds. Nothing in it is
dangerous, so the scan must report no critical or high finding (issue 17; before the trusted
types every scikit-learn estimator in it was high), and the AI-BOM must still list the models.
"""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import joblib
import pytest

from sumun.scan.engine import scan
from sumun.scan.model import ScanResult, Severity
from tests.scan.formats import trusted_observe

pytestmark = pytest.mark.filterwarnings("ignore")


def _tabular(root: Path) -> None:
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    x, y = trusted_observe._data()
    texts = ["the cat sat", "a dog ran", "cats and dogs", "the end"] * 5
    composites = trusted_observe._sklearn_composites(x, y, texts, pd)
    churn, _text, _union, _func, search, *_rest = composites
    (root / "models").mkdir()
    with (root / "models" / "churn_pipeline.pkl").open("wb") as fh:
        pickle.dump(churn, fh)
    joblib.dump(churn, root / "models" / "churn_pipeline.joblib")
    joblib.dump(search, root / "models" / "grid_search.joblib.z", compress=3)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(x, y)
    joblib.dump(forest, root / "models" / "forest.joblib", compress=("lzma", 3))
    joblib.dump(composites, root / "models" / "every_composite.joblib")
    frame = composites[-1]
    frame.to_pickle(root / "models" / "features.pkl")
    frame.assign(t=pd.date_range("2026-01-01", periods=len(frame), tz="Asia/Seoul")).to_pickle(
        root / "models" / "features_tz.pkl.gz"
    )


def _boosters(root: Path) -> None:
    import catboost as cb
    import lightgbm as lgb
    import xgboost as xgb

    x, y = trusted_observe._data()
    out = root / "boosters"
    out.mkdir()
    xgb_model = xgb.XGBClassifier(n_estimators=3).fit(x, y)
    xgb_model.save_model(out / "xgb.json")
    xgb_model.save_model(out / "xgb.ubj")
    xgb_model.get_booster().save_model(out / "booster.json")
    with (out / "xgb.pkl").open("wb") as fh:
        pickle.dump(xgb_model, fh)
    joblib.dump(xgb_model, out / "xgb.joblib")
    lgb_model = lgb.LGBMClassifier(n_estimators=3, min_child_samples=2, verbose=-1).fit(x, y)
    lgb_model.booster_.save_model(out / "lgbm.txt")
    with (out / "lgbm.pkl").open("wb") as fh:
        pickle.dump(lgb_model, fh)
    joblib.dump(lgb_model, out / "lgbm.joblib")
    cat_model = cb.CatBoostClassifier(iterations=3, verbose=False, allow_writing_files=False)
    cat_model.fit(x, y)
    cat_model.save_model(str(out / "catboost.cbm"))
    cat_model.save_model(str(out / "catboost.json"), format="json")
    with (out / "catboost.pkl").open("wb") as fh:
        pickle.dump(cat_model, fh)


def _code(root: Path) -> None:
    (root / "train.py").write_text(
        "import joblib\nfrom sklearn.linear_model import LogisticRegression\n\n"
        "def train(x, y):\n    model = LogisticRegression().fit(x, y)\n"
        "    joblib.dump(model, 'models/model.joblib')\n",
        encoding="utf-8",
    )
    (root / "params.json").write_text(json.dumps({"C": 1.0}), encoding="utf-8")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("datascience")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _tabular(root)
        _boosters(root)
        _code(root)
    return root


@pytest.fixture(scope="module")
def result(tree: Path) -> ScanResult:
    return scan(tree, workers=1)


def test_what_the_libraries_save_by_default_has_no_critical_or_high(result: ScanResult) -> None:
    assert result.files >= 20
    loud = [(f.path, f.rule, f.message) for f in result.findings if f.severity >= Severity.HIGH]
    assert loud == []


def test_no_medium_either_for_the_libraries_own_types(result: ScanResult) -> None:
    unknown = [(f.path, f.message) for f in result.findings if f.rule == "pickle.unknown-global"]
    assert unknown == []


def test_the_models_are_in_the_ai_bom(result: ScanResult) -> None:
    models = {c.path for c in result.components if c.type == "machine-learning-model"}
    for name in (
        "models/churn_pipeline.pkl",
        "models/churn_pipeline.joblib",
        "boosters/xgb.pkl",
        "boosters/lgbm.joblib",
        "boosters/catboost.pkl",
    ):
        assert name in models, sorted(models)


def test_a_payload_in_the_same_tree_is_still_found(tree: Path, tmp_path: Path) -> None:
    import os

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, ("echo pwned",))

    model = joblib.load(tree / "models" / "churn_pipeline.joblib")
    model.steps[-1][1].callback = Payload()
    joblib.dump(model, tmp_path / "churn_pipeline.joblib")
    found = scan(tmp_path, workers=1)
    assert any(f.severity is Severity.CRITICAL for f in found.findings)
