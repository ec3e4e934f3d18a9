"""Independent labelled Korean PII corpus (see make_corpus.py)."""
