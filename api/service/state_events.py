"""A job's progress as server-sent events, shared by rounds and scenario runs: one
`progress` event per change of its state, then `end` with the final status. Each state
is read by `read` in a short session of its own; the stream ends when the job ends, the
client goes or the server stops (SIGTERM)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Collection
from typing import Any

from starlette.requests import Request


def state_events(
    request: Request, read: Callable[[], dict[str, Any] | None], terminal: Collection[str]
) -> AsyncIterator[str]:
    poll = float(request.app.state.settings.poll_s)
    stopping = request.app.state.stopping

    async def stream() -> AsyncIterator[str]:
        last: str | None = None
        while True:
            state = await asyncio.to_thread(read)
            if state is None:
                return
            text = json.dumps(state, sort_keys=True)
            if text != last:
                yield f"event: progress\ndata: {text}\n\n"
                last = text
            if state["status"] in terminal:
                yield f"event: end\ndata: {json.dumps({'status': state['status']})}\n\n"
                return
            if stopping.is_set() or await request.is_disconnected():
                return
            await asyncio.sleep(poll)

    return stream()
