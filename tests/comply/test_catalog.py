"""The catalog: schema validation, sources, collectors, and every doubt stated with its reason."""

from __future__ import annotations

import re
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
        *(f"AIBA-34.{i}" for i in range(1, 6)), "AIBA-34.PUB",
        "PIPA-21", "PIPA-23", "PIPA-24", "PIPA-24-2", "PIPA-29-PSEUDO", "PIPA-28-4", "PIPA-28-8",
        "PIPA-29", "PIPA-29-CLOUDKEY",
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
        assert "not an NIS statement" in (by_id[rid].source.unconfirmed or "")
    # KOREA.md: "AES expected to be added in 2026" — carried, flagged with its reason.
    params = by_id["KCMVP-CIPHER"].checks[0].params
    assert "2026 [unconfirmed: announced plans only" in str(params["note"])
    unconfirmed = sum(s.unconfirmed for s in catalog.sources)
    assert unconfirmed == sum(1 for r in catalog.requirements if r.source.status == "unconfirmed")
    assert 0 < unconfirmed < len(catalog.requirements) // 4


def test_points_the_issue_verified_are_confirmed(catalog: Catalog) -> None:
    by_id = {r.id: r for r in catalog.requirements}
    verified = (
        "PIPA-21", "PIPA-29", "PIPA-28-8", "KCMVP-CIPHER", "CSAP-GRADE", "CSAP-LOW",
        "CSAP-HIGH", "MED-EMR", "AIBA-31.2", "AIBA-32", "AIBA-34.1",
    )  # fmt: skip
    for rid in verified:
        assert by_id[rid].source.status == "confirmed", rid
    # Art. 2(4)'s areas are the statute's own.
    assert catalog.areas_source.status == "confirmed"
    assert "final decision" in (catalog.areas_source.note or "")


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


_INLINE = re.compile(r"\[unconfirmed(?::\s*(?P<reason>[^\]]*))?\]")


def test_every_unconfirmed_states_its_reason() -> None:
    """Every doubt in the catalog files says why: the field, and inline `[unconfirmed: …]`."""
    flagged = 0
    for path in sorted(PACKAGED.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        sources = [data["source"]] if "source" in data else []
        sources += [r["source"] for r in data.get("requirements", [])]
        for source in sources:
            assert "status" not in source, f"{path.name}: a bare status; give `unconfirmed: WHY`"
            if "unconfirmed" in source:
                assert isinstance(source["unconfirmed"], str), path.name
                assert len(source["unconfirmed"].split()) >= 5, (path.name, source)
                flagged += 1
        for text in _strings(data):
            for found in _INLINE.finditer(text):
                reason = (found.group("reason") or "").strip()
                assert len(reason.split()) >= 5, f"{path.name}: {found.group(0)!r} has no reason"
                flagged += 1
            bare = _INLINE.sub("", text)
            assert "[unconfirmed" not in bare and "[미확인" not in bare, (path.name, text)
    assert flagged >= 8  # the field and the inline form are both in use


@pytest.mark.parametrize("flag", ["status: unconfirmed", "unconfirmed: true", "unconfirmed: ''"])
def test_an_unconfirmed_without_a_reason_is_refused(tmp_path: Path, flag: str) -> None:
    directory = _copy(tmp_path)
    key, _, value = flag.partition(": ")
    loaded = yaml.safe_load(value)
    _edit(directory / "pipa.yaml", lambda d: d["requirements"][0]["source"].update({key: loaded}))
    with pytest.raises(ConfigError, match=r"pipa.yaml: requirements.0.source"):
        load_catalog(directory)


def test_ai_basic_act_items_cite_the_final_decree_not_the_draft(catalog: Catalog) -> None:
    aiba = [r for r in catalog.requirements if r.id.startswith("AIBA")]
    for req in aiba:
        assert "draft" not in req.source.law + req.source.article, req.id
        note = req.source.note or ""
        # A 2025 draft is named only beside the final text, or for a point still unconfirmed.
        if "draft" in note:
            assert "[unconfirmed:" in note or "final" in note or "36053" in note, req.id
    cites = [r.id for r in aiba if "Presidential Decree No. 36053" in r.source.law]
    assert {"AIBA-31.1", "AIBA-31.2", "AIBA-32", "AIBA-34.1", "AIBA-36"} <= set(cites)
    by_id = {r.id: r for r in aiba}
    # Art. 32: the three criteria together, and the report to MSIT.
    text = by_id["AIBA-32"].text_en
    assert "all three criteria together" in text and "10^26 FLOPs" in text
    assert "state-of-the-art" in text and "broad and serious impact" in text
    assert "report the results to the Minister" in text and "around" not in text
    # Art. 31(1) is prior notice, an attestation; the per-answer notice is 31(2)'s evidence.
    assert not by_id["AIBA-31.1"].checks and by_id["AIBA-31.1"].attestation
    assert "not of this notice" in (by_id["AIBA-31.1"].source.note or "")
    assert "at least one notice a person can perceive" in by_id["AIBA-31.2"].text_en
    # Art. 34(4): the statute's words; a named person is Sumun's reading.
    assert "named person" not in by_id["AIBA-34.4"].text_en
    assert "Sumun's reading" in (by_id["AIBA-34.4"].source.note or "")
    # Art. 34(1): publication covers all the measures, trade secrets excepted.
    assert "all the art. 34(1) measures" in by_id["AIBA-34.PUB"].text_en
    assert "trade secret" in by_id["AIBA-34.PUB"].text_en


def test_pipa_pseudonymization_is_a_safety_measure_not_28_2(catalog: Catalog) -> None:
    by_id = {r.id: r for r in catalog.requirements}
    assert not any(r.source.article.startswith("art. 28-2") for r in catalog.requirements)
    pseudo = by_id["PIPA-29-PSEUDO"]
    assert pseudo.source.article.startswith("art. 29; decree art. 30")
    assert "not art. 28-2 pseudonymized processing" in pseudo.text_en
    assert "28-5" in pseudo.text_en and "28-8" in pseudo.text_en
    assert by_id["PIPA-28-4"].source.article.startswith("art. 28-4")
    emr = by_id["MED-EMR"]
    assert "art. 16" in emr.source.law and "MOHW notice" in emr.source.law
    assert "Sumun's reading" in emr.source.note  # type: ignore[operator]


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
