"""AI supply-chain scanning (`sumun scan`): AI-BOM, model-file safety, AI SDK and endpoint use.

Reads files; imports nothing of the gateway, keys or ledger (docs/architecture.md: only `cli` and
`console` import `scan`).
"""
