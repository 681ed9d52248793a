"""A deadline for request headers: a connection that has not sent a whole request head within
HEADER_TIMEOUT_S of opening (or of its previous response) is closed.

uvicorn, which BentoML runs, times out idle keep-alive connections but not a client that sends
headers slowly or never finishes them, so 200 such connections stayed open indefinitely. There
is no setting for it, so the deadline is added to uvicorn's two HTTP protocol classes, in the
worker, before it serves: each connection arms a timer when it opens and after each response; when
it fires and no new request has started since, the connection is closed. Bodies have their own
deadline (service.middleware).
"""

from __future__ import annotations

import logging

log = logging.getLogger("stance.service")
_PATCHED = "_stance_header_deadline"


def _arm(protocol, seconds: float) -> None:
    started = protocol.cycle

    def expire():
        cycle = protocol.cycle
        idle = cycle is started and (cycle is None or cycle.response_complete)
        if idle and protocol.transport is not None and not protocol.transport.is_closing():
            protocol.transport.close()

    protocol.loop.call_later(seconds, expire)


def _patch(cls, seconds: float) -> None:
    if getattr(cls, _PATCHED, False):
        return
    connection_made, on_response_complete = cls.connection_made, cls.on_response_complete

    def patched_connection_made(self, transport):
        connection_made(self, transport)
        _arm(self, seconds)

    def patched_on_response_complete(self):
        on_response_complete(self)
        _arm(self, seconds)

    cls.connection_made = patched_connection_made
    cls.on_response_complete = patched_on_response_complete
    setattr(cls, _PATCHED, True)


def limit_header_time(seconds: float) -> None:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    _patch(H11Protocol, seconds)
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is optional
        return
    _patch(HttpToolsProtocol, seconds)
