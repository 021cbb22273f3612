"""Connections of `bre serve`: uvicorn's HTTP protocol with the limits a shared server needs.

uvicorn closes an idle keep-alive connection after `timeout_keep_alive`, but nothing else: a
connection that never finishes its request (opened and left idle, or fed a byte at a time:
slowloris) is kept forever, headers of any size are buffered, and every open connection holds a
file descriptor (a hundred idle ones under `ulimit -n 128` locked every other client out). The
protocol here adds, per connection:

- **a header deadline**: a request's headers must be complete within `header_timeout_s` of the
  connection opening or of the request's first byte;
- **a body deadline**: its body must be complete within `body_timeout_s` of its headers;
- **a header size cap**: more than `max_header_bytes` before the headers end answers 431;
- **a connection cap**: past `max_connections` open connections a new one is closed at once
  (the client sees a reset and may retry) instead of holding a descriptor others need.

A connection past a deadline is closed without an answer: the request was never complete, so
nothing of it reached the application, which reads a disconnect as "no request" (never as a
shorter body).
"""

from __future__ import annotations

import asyncio
import resource
from typing import TYPE_CHECKING, Any

from engine.core.frozen import record

if TYPE_CHECKING:  # imported when a server starts, not by `bre --help`
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Descriptors kept free for the database, logs and the listening socket.
_RESERVED_FDS = 64
_TOO_LARGE_BODY = b"the request headers are larger than the limit"
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE_BODY), _TOO_LARGE_BODY)
)


def default_max_connections() -> int:
    """Open connections a process can hold: its descriptor limit less a reserve, at most 4,096."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 4096
    return max(8, min(4096, soft - _RESERVED_FDS))


@record
class ConnectionLimits:
    """The limits above; every one is a setting of `bre serve` (README, "Security and limits")."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_s: float = 5.0
    max_header_bytes: int = 65_536
    max_connections: int = 0  # 0: from the process's descriptor limit

    def uvicorn_options(self, base: type[HttpToolsProtocol] | None = None) -> dict[str, Any]:
        """The uvicorn `Config` keywords that apply these limits (to `base`, a subclass of
        uvicorn's httptools protocol, or to that protocol)."""
        return {"http": bounded_protocol(self, base), "timeout_keep_alive": self.keep_alive_s}


def bounded_protocol(
    limits: ConnectionLimits, base: type[HttpToolsProtocol] | None = None
) -> type[HttpToolsProtocol]:
    """A uvicorn HTTP protocol class (`base`, else uvicorn's httptools protocol) that applies
    `limits` to each connection."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    cap = limits.max_connections or default_max_connections()

    parent: type[HttpToolsProtocol] = base or HttpToolsProtocol

    class BoundedProtocol(parent):  # type: ignore[valid-type,misc]
        #: when the connection's current deadline passes (the loop's clock), None: no deadline
        _deadline_at: float | None = None
        #: the one timer that checks it, and when it fires: re-armed only when it fires, so
        #: a request moves a deadline by setting a number, not by a timer of its own (three
        #: timers per request were 3% of a write's server CPU)
        _timer: asyncio.TimerHandle | None = None
        _timer_at: float = 0.0
        #: when an idle kept-alive connection closes (uvicorn's `timeout_keep_alive`)
        _idle_at: float | None = None
        _header_bytes: int = 0
        _in_headers: bool = True

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > cap:
                transport.abort()  # over the cap: shed at once, before any work
                return
            self._arm(limits.header_timeout_s)

        def connection_lost(self, exc: Exception | None) -> None:
            self._deadline_at = self._idle_at = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self._in_headers:
                self._header_bytes += len(data)
                if self._header_bytes > limits.max_header_bytes:
                    self._deadline_at = None
                    self.transport.write(_TOO_LARGE)
                    self.transport.close()
                    return
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_headers, self._header_bytes = True, 0
            self._arm(limits.header_timeout_s)  # a request's first byte: headers must follow

        def on_headers_complete(self) -> None:
            self._in_headers = False
            self._arm(limits.body_timeout_s)
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._deadline_at = None
            super().on_message_complete()

        def _unset_keepalive_if_required(self) -> None:
            self._idle_at = None  # data came: uvicorn cancels its keep-alive timer

        def on_response_complete(self) -> None:
            """uvicorn's, its keep-alive timer (one per answer: 4% of a GET's server CPU) a
            deadline of the connection's one timer."""
            self.server_state.total_requests += 1
            if self.transport.is_closing():
                return
            self._idle_at = None
            self.flow.resume_reading()
            if self.pipeline:
                cycle, app = self.pipeline.pop()
                self._start_asgi_task(cycle, app)
            else:
                self._idle_at = at = self.loop.time() + self.timeout_keep_alive
                self._wake_at(at)

        def _arm(self, seconds: float) -> None:
            at = self.loop.time() + seconds
            self._deadline_at = at
            self._wake_at(at)

        def _wake_at(self, at: float) -> None:
            timer = self._timer
            if timer is None or at < self._timer_at:  # a timer that fires later is too late
                if timer is not None:
                    timer.cancel()
                self._timer, self._timer_at = self.loop.call_at(at, self._check), at

        def _check(self) -> None:
            """The timer fired: close the connection if a deadline has passed, else wait
            again until the first one does (they moved since the timer was set)."""
            self._timer = None
            due = [at for at in (self._deadline_at, self._idle_at) if at is not None]
            if not due:
                return
            first = min(due)
            if self.loop.time() < first:
                self._timer, self._timer_at = self.loop.call_at(first, self._check), first
                return
            self._deadline_at = self._idle_at = None
            if not self.transport.is_closing():
                self.transport.close()

    return BoundedProtocol
