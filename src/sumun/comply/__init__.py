"""Korea's requirements as code: the catalog, evidence collectors, the compliance report.

Reads the other packages' state; nothing imports `comply` but `cli` (and later `console`).
Guidance with sources, not legal advice.

    catalog/*.yaml   the requirements (one file per instrument), validated by `model`
    catalog.py       load_catalog(): schema, unique ids, every check names a collector
    gather.py        gather(): the one read of real state → `facts.Facts`
    collectors/      pure (facts, params, app) -> Evidence functions, by name
    assess.py        scope → evidence → status, per requirement (per app when high-impact)
    report.py        JSON (stable keys) and self-contained bilingual HTML (templates/)
    register.py      the AI system register (art. 33) and the art. 2(4) questionnaire
    oversight.py     art. 34(4) reviews: an auditor's review is a ledger entry
    attest.py        attestations: documents kept by digest, or referenced
    scans.py         the latest AI-BOM (`$SUMUN_HOME/scans/latest.json`)
"""
