"""Korea's requirements as code: the catalog, evidence collectors, the compliance report.

Reads the other packages' state; nothing imports `comply` but `cli` (and later `console`).
Guidance with sources, not legal advice.
"""
