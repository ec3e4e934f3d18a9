"""The catalog: schema validation, sources, collectors, and KOREA.md's [unconfirmed] carried."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest
import yaml

from sumun.comply.catalog import Catalog, load_catalog
from sumun.comply.collectors import COLLECTORS
from sumun.errors import ConfigError

PACKAGED = Path(str(resources.files("sumun.comply") / "catalog"))


def test_the_catalog_covers_what_the_issue_asks(catalog: Catalog) -> None:
    ids = {r.id for r in catalog.requirements}
    required = {
        *(f"AIBA-{a}" for a in ("31.1", "31.2", "31.3", "32", "33", "35", "36")),
        *(f"AIBA-34.{i}" for i in range(1, 6)),
        "PIPA-23", "PIPA-24", "PIPA-24-2", "PIPA-28-2", "PIPA-D29-5", "PIPA-28-8",
        "N2SF-GRADE", "N2SF-C", "N2SF-S", "N2SF-GENAI",
        *(f"N2SF-CA.{a}" for a in ("PRIV", "AUTH", "SEP", "CTRL", "DATA", "ASSET")),
        "CSAP-GRADE", "CSAP-LOW", "CSAP-HIGH", "KCMVP-CIPHER", "KCMVP-SIG", "KCMVP-MODULE",
        "MED-EMR", "FIN-LOC",
    }  # fmt: skip
    assert required <= ids
    files = {s.file: s.requirements for s in catalog.sources}
    assert set(files) == {
        "ai_basic_act.yaml", "pipa.yaml", "n2sf.yaml", "csap.yaml", "kcmvp.yaml", "sector.yaml"
    }  # fmt: skip
    assert sum(files.values()) == len(catalog.requirements)
    assert len(catalog.areas) == 11  # art. 2(4) items 가-카


def test_ids_are_unique_and_every_requirement_names_a_source(catalog: Catalog) -> None:
    ids = [r.id for r in catalog.requirements]
    assert len(ids) == len(set(ids))
    for req in catalog.requirements:
        assert req.source.law.strip() and req.source.article.strip(), req.id
        assert req.source.url is None or req.source.url.startswith("https://"), req.id
        assert req.title_ko != req.title_en and req.text_ko != req.text_en, req.id
        assert any("\uac00" <= ch <= "\ud7a3" for ch in req.title_ko + req.text_ko), req.id
        assert req.checks or req.attestation, req.id
    # Acts are on law.go.kr; only the NIS guideline lacks a stable public URL.
    assert all(r.source.url for r in catalog.requirements if r.id.startswith(("AIBA", "PIPA")))


def test_every_check_names_a_registered_collector(catalog: Catalog) -> None:
    used = {c.collector for r in catalog.requirements for c in r.checks}
    assert used <= set(COLLECTORS)
    assert set(COLLECTORS) - used == set(), "a collector no requirement uses"


def test_unconfirmed_markers_of_korea_md_are_carried(catalog: Catalog) -> None:
    by_id = {r.id: r for r in catalog.requirements}
    # KOREA.md: the grade-by-grade permission is "Sumun's default reading, not an NIS statement".
    for rid in ("N2SF-S", "N2SF-C"):
        assert by_id[rid].source.status == "unconfirmed"
        assert "not an NIS statement" in (by_id[rid].source.note or "")
    # KOREA.md: art. 2(4) "[exact wording unconfirmed]".
    assert catalog.areas_source.status == "unconfirmed"
    # KOREA.md: "AES expected to be added in 2026" — carried, flagged.
    params = by_id["KCMVP-CIPHER"].checks[0].params
    assert "2026 [unconfirmed]" in str(params["note"])
    # Facts KOREA.md states plainly stay confirmed.
    assert by_id["AIBA-31.2"].source.status == "confirmed"
    assert by_id["PIPA-28-8"].source.status == "confirmed"
    unconfirmed = sum(s.unconfirmed for s in catalog.sources)
    assert unconfirmed == sum(1 for r in catalog.requirements if r.source.status == "unconfirmed")
    assert 8 <= unconfirmed < len(catalog.requirements) // 2


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(PACKAGED, target)
    return target


def _edit(path: Path, change: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["requirements"][0].pop("source"), r"pipa.yaml: requirements.0.source"),
        (
            lambda d: d["requirements"][0]["source"].update(url="http://insecure.example"),
            r"url: String should match pattern",
        ),
        (lambda d: d["requirements"][0].update(id="pipa 21"), r"requirements.0.id"),
        (
            lambda d: d["requirements"][0].update(checks=[{"collector": "keys.nope"}]),
            r"PIPA-21 names an unknown collector 'keys.nope'",
        ),
        (
            lambda d: d["requirements"][0].update(checks=[], attestation=None),
            r"needs at least one check or an attestation",
        ),
        (
            lambda d: d["requirements"][1].update(id="PIPA-21"),
            r"requirement id PIPA-21 is also in pipa.yaml",
        ),
        (
            lambda d: d["requirements"][0].update(checks=[{"collector": "oversight.reviews"}]),
            r"oversight.reviews is per app",
        ),
        (lambda d: d.update(surprise=1), r"surprise: Extra inputs are not permitted"),
    ],
)
def test_an_invalid_catalog_is_refused_naming_file_and_field(
    tmp_path: Path, change: object, message: str
) -> None:
    directory = _copy(tmp_path)
    _edit(directory / "pipa.yaml", change)
    with pytest.raises(ConfigError, match=message):
        load_catalog(directory)


def test_a_duplicate_id_across_files_is_refused(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    _edit(directory / "csap.yaml", lambda d: d["requirements"][0].update(id="AIBA-33"))
    with pytest.raises(ConfigError, match=r"AIBA-33 is also in ai_basic_act\.yaml"):
        load_catalog(directory)


def test_the_areas_file_is_required(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / "high_impact_areas.yaml").unlink()
    with pytest.raises(ConfigError, match=r"high_impact_areas\.yaml is missing"):
        load_catalog(directory)
