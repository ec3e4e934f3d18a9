"""A minimal, fast OpenAI-compatible upstream for the gateway benchmark (real socket, real SSE).

python bench/_upstream.py PORT
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

ANSWER = "안녕하세요! 저는 벤치마크용 가짜 모델입니다. " * 4


async def chat(request: Request) -> Response:
    body = orjson.loads(await request.body())
    if body.get("stream"):

        async def events():  # type: ignore[no-untyped-def]
            for i, word in enumerate(ANSWER.split(" ")[:12]):
                chunk = {
                    "id": "chatcmpl-bench",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "delta": {"content": word + " "}, "finish_reason": None}
                    ],
                }
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
                if i == 0:
                    await asyncio.sleep(0)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    reply = {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52},
    }
    return Response(orjson.dumps(reply), media_type="application/json")


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        http="httptools",
        loop="uvloop",
        access_log=False,
    )
