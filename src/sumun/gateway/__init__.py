"""The gateway: the HTTP face of Sumun (health now; OpenAI/Anthropic APIs arrive with issue 4)."""
