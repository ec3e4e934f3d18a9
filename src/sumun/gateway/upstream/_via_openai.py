"""The OpenAI chat format as the pivot for upstreams that speak neither client wire format.

Gemini, Vertex AI and CLOVA Studio each have their own request and answer shapes. Their
adapters translate only between OpenAI chat completions and their upstream; an Anthropic client
is first brought to OpenAI by `sumun.gateway.translate` and its answer taken back the same way,
so there is one translator per upstream and one Anthropic <-> OpenAI translator for all.

    client body   --openai_chat_body-->       OpenAI chat body  --(adapter)-->  upstream
    upstream      --(adapter)--> OpenAI chat completion / chunks --client_answer / ClientPipe-->
"""

from __future__ import annotations

from typing import Any, Protocol

from sumun.gateway.translate import (
    OpenAIToAnthropicStream,
    StreamFault,
    TranslationError,
    anthropic_to_openai_request,
    openai_to_anthropic_response,
)
from sumun.gateway.upstream._http import error_for_transport
from sumun.gateway.upstream.base import Call, UpstreamError, Usage, Wire
from sumun.gateway.upstream.sse import DONE, SSEEvent, SSEParser

__all__ = ["DONE", "ChunkPipe", "ClientPipe", "client_answer", "openai_chat_body", "unsupported"]

Json = dict[str, Any]


def unsupported(provider: str, what: str) -> UpstreamError:
    return UpstreamError(
        f"{provider}: {what} is not supported by this provider",
        provider=provider,
        status=400,
        kind="unsupported",
    )


def openai_chat_body(call: Call, provider: str, *, stream: bool) -> Json:
    """The call as an OpenAI chat-completions body (a copy; the caller's body is not touched)."""
    if call.wire is Wire.ANTHROPIC:
        if call.endpoint != "messages":
            raise unsupported(provider, f"Anthropic-format {call.endpoint}")
        try:
            return anthropic_to_openai_request({**call.body, "stream": stream})
        except TranslationError as exc:
            raise UpstreamError(
                f"{provider}: {exc}", provider=provider, status=400, kind="unsupported"
            ) from exc
    if call.endpoint != "chat":
        raise unsupported(provider, f"OpenAI-format {call.endpoint}")
    return {**call.body, "stream": stream}


def client_answer(call: Call, completion: Json, provider: str) -> Json:
    """An OpenAI chat completion in the client's wire format."""
    if call.wire is not Wire.ANTHROPIC:
        return completion
    try:
        return openai_to_anthropic_response(completion)
    except TranslationError as exc:
        raise error_for_transport(provider, exc) from exc


class ChunkPipe(Protocol):
    """An upstream's events in, OpenAI `chat.completion.chunk` SSE frames out (an EventPipe)."""

    done: bool
    fault: StreamFault | None

    def feed(self, event: SSEEvent) -> list[bytes]: ...

    def close(self) -> list[bytes]: ...


class ClientPipe:
    """An EventPipe that hands the OpenAI frames of `inner` on in the client's wire format.

    OpenAI clients get them as they are. For an Anthropic client each frame is read back and fed
    to `OpenAIToAnthropicStream`, the same translator an OpenAI-compatible upstream uses.
    """

    def __init__(self, inner: ChunkPipe, *, wire: Wire, model: str, usage: Usage) -> None:
        self._inner = inner
        self._to_anthropic = (
            OpenAIToAnthropicStream(model=model, usage=usage) if wire is Wire.ANTHROPIC else None
        )
        self._parser = SSEParser()
        self.done = False
        self.fault: StreamFault | None = None

    def feed(self, event: SSEEvent) -> list[bytes]:
        out = self._inner.feed(event)
        self.done, self.fault = self._inner.done, self._inner.fault
        return self._client(out)

    def close(self) -> list[bytes]:
        out = self._inner.close()
        self.done = self._inner.done
        return self._client(out)

    def _client(self, frames: list[bytes]) -> list[bytes]:
        if self._to_anthropic is None or not frames:
            return frames
        out: list[bytes] = []
        for event in self._parser.feed(b"".join(frames)):
            out.extend(self._to_anthropic.feed(event))
        return out
