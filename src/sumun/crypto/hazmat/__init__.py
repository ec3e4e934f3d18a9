"""Hazardous primitives: raw AEAD ciphers. Callers MUST never reuse a (key, nonce) pair."""
