"""Reading request bodies with a size bound, before any of it is parsed or kept.

`read_body` serves the raw-body webhook path; `bounded_route` makes FastAPI routes read and
decode their JSON bodies within the same bounds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from paysync_dagster.bounds import InputLimitError, fields_out_of_bounds, loads_bounded

# Where a request carries the messages of its fields that broke a bound (see `json`).
OUT_OF_BOUNDS_SCOPE_KEY = "paysync.out_of_bounds"
_OUT_OF_BOUNDS = {"out of bounds": [None]}


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it (or its declared length) exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


class BoundedJsonRequest(Request):
    """A request whose body FastAPI reads within `max_body_bytes` and decodes with
    `loads_bounded`: the size, depth, string and integer bounds hold for every route."""

    max_body_bytes = 64 * 1024

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            body = await read_body(self, self.max_body_bytes)
            if body is None:
                raise HTTPException(413, f"request body is larger than {self.max_body_bytes} bytes")
            self._body = body
        return self._body

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = loads_bounded(body)
            except InputLimitError as error:
                out_of_bounds = fields_out_of_bounds(body)
                if not out_of_bounds:
                    # FastAPI answers a JSONDecodeError as a validation error of the body
                    # (any other exception here would become a bare 400); its message is ours.
                    raise json.JSONDecodeError(str(error), "", 0) from None
                # Fields at fault are replaced by a value no model field accepts, so the
                # model reports every bad field at once; their messages are the bounds'.
                self.scope[OUT_OF_BOUNDS_SCOPE_KEY] = out_of_bounds
                document = json.loads(body)
                self._json = {
                    name: _OUT_OF_BOUNDS if name in out_of_bounds else value
                    for name, value in document.items()
                }
        return self._json


def bounded_route(max_body_bytes: int) -> type[APIRoute]:
    """An `APIRoute` class whose requests are `BoundedJsonRequest`s of at most
    `max_body_bytes`."""

    class Bounded(BoundedJsonRequest):
        pass

    Bounded.max_body_bytes = max_body_bytes

    class BoundedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def bounded_handler(request: Request) -> Response:
                return await handler(Bounded(request.scope, request.receive))

            return bounded_handler

    return BoundedRoute
