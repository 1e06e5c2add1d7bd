"""http/server.py's listening socket, as uvicorn's asyncio loop accepts on it."""

from __future__ import annotations

import asyncio
import socket

from thumbsmith.http.server import bind


async def _accepted_nodelay(sock: socket.socket) -> int:
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted = transport.get_extra_info("socket")
            seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    async with server:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        value = await asyncio.wait_for(seen, 5)
        writer.close()
    return value


def test_accepted_connections_have_nodelay() -> None:
    # Without TCP_NODELAY on the accepted socket, Nagle holds a response's body behind
    # its headers until the client's delayed ACK: ~40 ms on every keep-alive answer but
    # the first. asyncio sets it only when the listening socket's proto is IPPROTO_TCP.
    sock = bind("127.0.0.1", 0, backlog=8, option="--listen")
    assert sock.proto == socket.IPPROTO_TCP
    assert asyncio.run(_accepted_nodelay(sock)) != 0
