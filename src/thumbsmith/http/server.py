"""What ``serve`` and ``receive`` share: the loopback check, a socket that listens before
the address is printed, and uvicorn run so that any stop signal ends in a clean exit 0.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
import sys
import time
from types import FrameType

import uvicorn

from thumbsmith.errors import ConfigError

# One Ctrl-C can arrive twice: the terminal (or a `kill` of the process group) sends it
# to every process in the group, and `uv run` forwards what it got when its output is
# not a terminal, about 200 ms later. Counted as two, uvicorn would take the second one
# as "force quit" and drop the requests in flight.
SAME_CTRL_C_WITHIN_S = 1.0


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    host = host.strip("[]")
    return f"[{host}]" if ":" in host else host


def bind(host: str, port: int, *, backlog: int, option: str) -> socket.socket:
    """A listening socket: a client that connects as soon as the address is printed waits
    in the backlog instead of being refused. ``option`` names the flag in the error."""
    host = host.strip("[]")
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP,
    # and without it Nagle + delayed ACKs add ~40 ms to every keep-alive answer after the first.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"{option}: cannot listen there ({exc.strerror})") from None
    return sock


def exit_cleanly_on_signals() -> None:
    """uvicorn re-raises the signal it stopped on, with the handler it found installed:
    make that one exit 0 (not death by SIGTERM, 143). Left at Python's default, SIGINT
    would meet asyncio's handler, which raises KeyboardInterrupt inside the app.

    Once stopping, later signals are ignored: ``uv run`` forwards a Ctrl-C a second time
    some 200 ms after the process group got it (astral-sh/uv#13925), which could land in
    the clean-up or in the interpreter's exit and print a traceback there."""

    def stop(*_: object) -> None:
        _ignore_stop_signals()
        sys.exit(0)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)


def _ignore_stop_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)


def run(config: uvicorn.Config, sock: socket.socket) -> None:
    """Serve on ``sock`` until SIGTERM/SIGINT; call :func:`exit_cleanly_on_signals` first.
    When it returns the process is stopping: later SIGINTs and SIGTERMs are ignored."""
    try:
        Server(config).run(sockets=[sock])
    finally:
        _ignore_stop_signals()


class Server(uvicorn.Server):
    """uvicorn's server, with one Ctrl-C counted once and a clean forced stop. On a second
    Ctrl-C plain uvicorn skips the app's shutdown; asyncio then cancels the lifespan and
    the requests in flight as it exits, and uvicorn logs each cancellation as a traceback."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._first_sigint: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGINT:
            now = time.monotonic()
            if self._first_sigint is None:
                self._first_sigint = now
            elif now - self._first_sigint < SAME_CTRL_C_WITHIN_S:
                return
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        if self.force_exit:
            # The requests still in flight are dropped on purpose: cancel them here, where
            # their cancellation is expected and so not logged as a traceback.
            logging.getLogger("uvicorn.error").addFilter(_not_a_cancellation)
            tasks = list(self.server_state.tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.lifespan.shutdown()


def _not_a_cancellation(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))
