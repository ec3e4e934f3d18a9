"""Source code and configuration: AI SDK usage, endpoints, model ids, secrets (masked)."""
