"""The one interface every provider adapter implements.

The gateway speaks to its client in the client's wire format (OpenAI or Anthropic) and hands
the adapter a `Call` in that same format. The adapter talks to its upstream natively and returns
the answer in the client's format again — translating only when the two differ. So an OpenAI
client in front of vLLM is a pass-through, and an Anthropic client in front of vLLM is
translated both ways (streaming included) by `sumun.gateway.translate`.

Adapters MUST:
- pass unknown fields, tool calls and multimodal content parts through intact;
- raise `UpstreamError` (with `status`, `retryable`, and `started=False`) *before* yielding any
  byte when the upstream refuses, fails or times out — the router may then fail over;
- never retry by themselves, and never after the first streamed byte (`started=True`);
- fill `Usage` (tokens in/out) from the upstream's answer when it reports it;
- never log bodies or API keys.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from sumun.errors import SumunError

__all__ = [
    "Call",
    "ChunkStream",
    "Endpoint",
    "ProviderAdapter",
    "Reply",
    "StreamReply",
    "UpstreamError",
    "Usage",
    "Wire",
]

Endpoint = Literal["chat", "messages", "responses", "embeddings"]


class Wire(enum.Enum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"


@dataclass(frozen=True, slots=True)
class Call:
    endpoint: Endpoint  # what the client called: chat/responses/embeddings (OpenAI), messages
    wire: Wire  # the client's wire format (and the format the reply must be in)
    body: dict[str, Any]  # the client's JSON body, with "model" already set to the upstream model
    stream: bool
    request_id: str


@dataclass
class Usage:
    tokens_in: int | None = None
    tokens_out: int | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete (non-streaming) answer, already in the client's wire format."""

    status: int
    body: dict[str, Any]
    usage: Usage = field(default_factory=Usage)


class ChunkStream(Protocol):
    """An async iterator of SSE-framed bytes that can be closed early (cancelling upstream)."""

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def __anext__(self) -> bytes: ...

    async def aclose(self) -> None: ...


@dataclass
class StreamReply:
    """A streaming answer: SSE-framed bytes in the client's wire format.

    `chunks` yields complete SSE events (`data: …\\n\\n`, with `event:` lines for Anthropic).
    `usage` is filled in by the adapter as the stream reports it; read it after the stream ends.
    Closing the iterator (`aclose`) MUST cancel the upstream request.
    """

    chunks: ChunkStream
    usage: Usage = field(default_factory=Usage)


class UpstreamError(SumunError):
    """The provider refused or failed. `status` is what the client should see."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int = 502,
        retryable: bool = False,
        started: bool = False,
        kind: str = "upstream_error",
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retryable = retryable  # safe to try another provider (nothing reached the client)
        self.started = started  # bytes were already streamed to the client
        self.kind = kind  # "rate_limited", "timeout", "unavailable", "bad_request", …


@runtime_checkable
class ProviderAdapter(Protocol):
    @property
    def name(self) -> str: ...

    async def complete(self, call: Call) -> Reply:
        """Non-streaming call. UpstreamError on failure."""
        ...

    async def stream(self, call: Call) -> StreamReply:
        """Start a streaming call. UpstreamError before the first byte on failure."""
        ...

    async def models(self) -> list[str]:
        """Model names the provider reports (may be empty if it cannot list them)."""
        ...

    async def aclose(self) -> None: ...
