"""Clients of the gateway under chaos: the official `openai` SDK, no retries, short timeouts.

Every call becomes one `Outcome`: what the client saw (status, request id, ledger seq, the
answer or the error body), labelled with the scenario running when it started. A call is
*acknowledged* when the client got a 200 and the whole answer: a parsed body, or a stream that
reached its `finish_reason` without a transport error. A stream cut mid-way (kill -9) got a 200
but is not acknowledged.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import openai

from tests.chaos.harness import CHAT, Marker

__all__ = ["Client", "InFlight", "Load", "Outcome", "Recorder", "call", "in_flight", "sdk_for"]

STREAM_SLOW = "#slow:0.03"  # the fake upstream waits this long before each event: ~0.4 s streams
PAUSE = 0.05  # between one client's calls; twice that after a refusal or no answer


@dataclass
class Outcome:
    scenario: str
    client: str
    tag: str  # in the prompt (`#tag:`), so the fake upstream and the ledger payload name it
    stream: bool
    model: str
    started: float  # time.monotonic()
    ended: float = 0.0
    status: int | None = None  # None: no HTTP answer at all (connection refused, reset, timeout)
    request_id: str | None = None
    ledger_seq: int | None = None
    retry_after: str | None = None
    acknowledged: bool = False
    text: str = ""  # the answer as the client got it (acknowledged or partial)
    error_body: str | None = None  # the body of a refusal, as sent
    failure: str = ""  # a transport error or a broken stream

    def where(self) -> str:
        kind = "stream" if self.stream else "call"
        return (
            f"[scenario {self.scenario}] {kind} {self.tag} ({self.client}): status "
            f"{self.status}, request id {self.request_id}"
        )


@dataclass(frozen=True)
class Client:
    name: str
    api_key: str
    model: str = CHAT


class Recorder:
    """Every outcome of the run, thread-safe, and which scenario new calls belong to."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.scenario = "baseline"

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)


def sdk_for(base_url: str, api_key: str, read_timeout: float) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{base_url}/v1",
        api_key=api_key,
        max_retries=0,
        timeout=httpx.Timeout(read_timeout, connect=1.0),
        http_client=httpx.Client(trust_env=False),
    )


def _seq(headers: httpx.Headers) -> int | None:
    value = headers.get("x-sumun-ledger-seq")
    return int(value) if value is not None and value.isdigit() else None


def _from_headers(outcome: Outcome, status: int, headers: httpx.Headers) -> None:
    outcome.status = status
    outcome.request_id = headers.get("x-sumun-request-id")
    outcome.ledger_seq = _seq(headers)
    outcome.retry_after = headers.get("retry-after")


def call(
    sdk: openai.OpenAI,
    outcome: Outcome,
    prompt: str,
    *,
    on_chunk: Callable[[int], None] | None = None,
) -> Outcome:
    """One chat completion as `outcome` describes (stream or not); fills in what happened."""
    messages = [{"role": "user", "content": prompt}]
    completions = sdk.chat.completions
    try:
        if outcome.stream:
            with completions.with_streaming_response.create(
                model=outcome.model, messages=messages, stream=True
            ) as response:
                _from_headers(outcome, response.status_code, response.headers)
                pieces, finished = [], False
                for count, chunk in enumerate(response.parse(), start=1):
                    for choice in chunk.choices:
                        pieces.append(choice.delta.content or "")
                        finished = finished or choice.finish_reason is not None
                    outcome.text = "".join(pieces)
                    if on_chunk is not None:
                        on_chunk(count)
                outcome.acknowledged = finished
                if not finished:
                    outcome.failure = "the stream ended without a finish_reason"
        else:
            raw = completions.with_raw_response.create(model=outcome.model, messages=messages)
            _from_headers(outcome, raw.status_code, raw.headers)
            outcome.text = raw.parse().choices[0].message.content or ""
            outcome.acknowledged = raw.status_code == 200
    except openai.APIStatusError as exc:
        _from_headers(outcome, exc.status_code, exc.response.headers)
        outcome.error_body = exc.response.text
    except (openai.APIError, httpx.HTTPError) as exc:  # transport errors, a stream cut mid-way
        outcome.failure = f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # the SDK choking on what it got: recorded, the tests judge it
        outcome.failure = f"client error {type(exc).__name__}: {exc}"
    finally:
        outcome.ended = time.monotonic()
    return outcome


class Load:
    """A few clients calling in a loop — odd calls streamed — until stopped; pausable."""

    def __init__(
        self,
        recorder: Recorder,
        marker: Marker,
        clients: list[Client],
        base_url: Callable[[], str],
    ) -> None:
        self._recorder = recorder
        self._marker = marker
        self._clients = clients
        self._base_url = base_url
        self._stop = threading.Event()
        self._gate = threading.Event()
        self._gate.set()
        self._busy = 0
        self._idle = threading.Condition()
        self._threads = [
            threading.Thread(target=self._run, args=(c,), name=f"load-{c.name}", daemon=True)
            for c in clients
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._gate.set()
        for thread in self._threads:
            thread.join(20)

    def pause(self, timeout: float = 15.0) -> None:
        """No new calls; wait (bounded) until the calls in flight have ended."""
        self._gate.clear()
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout)

    def resume(self) -> None:
        self._gate.set()

    def _run(self, client: Client) -> None:
        sdk: openai.OpenAI | None = None
        current = ""
        for n in itertools.count():
            self._gate.wait()
            if self._stop.is_set():
                break
            with self._idle:
                self._busy += 1
            outcome = None
            try:
                if self._base_url() != current:
                    current = self._base_url()
                    sdk = sdk_for(current, client.api_key, read_timeout=8.0)
                assert sdk is not None
                stream = n % 2 == 1
                tag = f"{client.name}-{n}"
                outcome = Outcome(
                    self._recorder.scenario,
                    client.name,
                    tag,
                    stream,
                    client.model,
                    time.monotonic(),
                )
                prompt = self._marker.prompt(tag, STREAM_SLOW if stream else "")
                self._recorder.add(call(sdk, outcome, prompt))
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()
            answered = outcome is not None and outcome.status == 200
            time.sleep(PAUSE if answered else 2 * PAUSE)


@dataclass
class InFlight:
    """One slow call started in its own thread, to be in flight when something breaks."""

    outcome: Outcome
    thread: threading.Thread
    chunks: list[int] = field(default_factory=lambda: [0])

    def join(self, timeout: float = 20.0) -> Outcome:
        self.thread.join(timeout)
        return self.outcome


@contextlib.contextmanager
def in_flight(
    recorder: Recorder,
    marker: Marker,
    base_url: str,
    client: Client,
    *,
    name: str,
    streams: int,
    calls: int,
    stream_slow: float,
    call_slow: float,
) -> Iterator[list[InFlight]]:
    """`streams` streams and `calls` whole calls, slowed by the fake upstream (`#slow:S`: S
    seconds before each event of a stream, before the whole answer of a call); recorded when
    they end, and joined when the context ends."""
    started: list[InFlight] = []
    for index in range(streams + calls):
        stream = index < streams
        tag = f"{name}-{'s' if stream else 'c'}{index}"
        outcome = Outcome(
            recorder.scenario, f"{client.name}/{name}", tag, stream, client.model, time.monotonic()
        )
        prompt = marker.prompt(tag, f"#slow:{stream_slow if stream else call_slow}")
        sdk = sdk_for(base_url, client.api_key, read_timeout=20.0)
        flight = InFlight(outcome, threading.Thread(target=lambda: None))

        def run(flight: InFlight = flight, sdk: openai.OpenAI = sdk, prompt: str = prompt) -> None:
            def seen(count: int) -> None:
                flight.chunks[0] = count

            recorder.add(call(sdk, flight.outcome, prompt, on_chunk=seen))

        flight.thread = threading.Thread(target=run, name=f"inflight-{tag}", daemon=True)
        flight.thread.start()
        started.append(flight)
    try:
        yield started
    finally:
        for flight in started:
            flight.join()
