"""A deadline for request heads: a connection must send a whole request head within
HEADER_TIMEOUT_S of its first byte, and its first byte within HEADER_TIMEOUT_S of connecting.

uvicorn, which BentoML runs, closes a kept-alive connection idle after a response, but not a
new connection that sends nothing, nor a client that sends its headers slowly or never finishes
them, so 200 such connections stayed open indefinitely. There is no setting for it, so uvicorn's
two HTTP protocol classes get timers, in the worker, before it serves: one from connecting (closed
if no byte came), one from the first byte of each request head (closed if no request began).
Timing a head from its own first byte never closes a connection whose client has just started a
new request. Bodies have their own deadline (service.middleware).
"""

from __future__ import annotations

import logging

log = logging.getLogger("stance.service")
_PATCHED = "_stance_header_deadline"


def _idle(protocol) -> bool:
    cycle = protocol.cycle
    return cycle is None or cycle.response_complete


def _close(protocol) -> None:
    if protocol.transport is not None and not protocol.transport.is_closing():
        protocol.transport.close()


def _patch(cls, seconds: float) -> None:
    if getattr(cls, _PATCHED, False):
        return
    connection_made, data_received = cls.connection_made, cls.data_received
    connection_lost = cls.connection_lost

    def patched_connection_made(self, transport):
        connection_made(self, transport)
        self._stance_bytes = 0
        self._stance_head_timer = None

        def expire_silent():
            if self._stance_bytes == 0:
                _close(self)

        self._stance_silent_timer = self.loop.call_later(seconds, expire_silent)

    def patched_data_received(self, data):
        self._stance_bytes += len(data)
        if self._stance_head_timer is None and _idle(self):
            # The first byte of a request head: the whole head must follow in time.
            started = self.cycle

            def expire_head():
                self._stance_head_timer = None
                if self.cycle is started:  # no request began since that first byte
                    _close(self)

            self._stance_head_timer = self.loop.call_later(seconds, expire_head)
        data_received(self, data)
        if self._stance_head_timer is not None and not _idle(self):
            self._stance_head_timer.cancel()  # the head is complete: a request is in progress
            self._stance_head_timer = None

    def patched_connection_lost(self, exc):
        # A pending timer holds the protocol (and its buffers) alive: release it with the connection.
        for name in ("_stance_silent_timer", "_stance_head_timer"):
            timer = getattr(self, name, None)
            if timer is not None:
                timer.cancel()
                setattr(self, name, None)
        connection_lost(self, exc)

    cls.connection_made = patched_connection_made
    cls.connection_lost = patched_connection_lost
    cls.data_received = patched_data_received
    setattr(cls, _PATCHED, True)


def limit_header_time(seconds: float) -> None:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    _patch(H11Protocol, seconds)
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is optional
        return
    _patch(HttpToolsProtocol, seconds)
