"""Checks of evaluation data: corpora are well-formed and reproducible."""
