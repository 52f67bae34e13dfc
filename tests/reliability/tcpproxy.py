"""A TCP proxy on 127.0.0.1 (a port the OS picks) that can stop all traffic, to play a
network partition between the application and its database server.

``pause()`` holds every byte in both directions, and new connections get no byte from
the server either, as if packets were dropped; ``resume()`` delivers what was held and
carries on, as TCP does once a partition heals. The proxy never closes a connection by
itself: each side sees only silence, and whatever timeout it has decides what happens.

``ProxyProcess`` runs it in a process of its own, so that it keeps time even when the
process under test is stuck (a blocking call that holds the GIL would stop a proxy
running in that process's event loop, and with it the end of the partition):
``pause(seconds)`` there stops traffic and restores it by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

__all__ = ["ProxyProcess", "TcpProxy"]

_CHUNK = 64 * 1024


class TcpProxy:
    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        #: set while traffic flows
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        #: connections accepted so far
        self.accepted = 0

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    @property
    def paused(self) -> bool:
        return not self._flowing.is_set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.get_running_loop().create_task(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        upstream: asyncio.StreamWriter | None = None
        try:
            # A connection made during a partition reaches nobody until it heals.
            await self._flowing.wait()
            up_reader, upstream = await asyncio.open_connection(*self.target)
            self._writers.add(upstream)
            await asyncio.gather(self._pump(reader, upstream), self._pump(up_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for side in (writer, upstream):
                if side is not None:
                    self._writers.discard(side)
                    side.close()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await side.wait_closed()

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(_CHUNK):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            # One side hung up: tell the other (half-close is not worth playing here).
            sink.close()


class ProxyProcess:
    """A ``TcpProxy`` in a child process (``python -m tests.reliability.tcpproxy``)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ProxyProcess:
        proc = self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.reliability.tcpproxy",
            self.target[0],
            str(self.target[1]),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        self.port = int((await proc.stdout.readline()).decode())
        return self

    async def pause(self, seconds: float) -> None:
        """Stop all traffic now, and let it flow again ``seconds`` later."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f"pause {seconds}\n".encode())
        await proc.stdin.drain()
        await proc.stdout.readline()  # "paused"

    async def __aexit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.terminate()
            await proc.wait()


async def _serve_forever(host: str, port: int) -> None:
    proxy = await TcpProxy(host, port).start()
    print(proxy.port, flush=True)
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    while line := await commands.readline():
        verb, _, arg = line.decode().partition(" ")
        if verb == "pause":
            proxy.pause()
            loop.call_later(float(arg), proxy.resume)
            print("paused", flush=True)
    await proxy.close()


if __name__ == "__main__":
    asyncio.run(_serve_forever(sys.argv[1], int(sys.argv[2])))
