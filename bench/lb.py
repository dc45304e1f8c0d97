"""A small TCP load balancer for the cluster bench: round robin over the web nodes that are in rotation,
the next node when one refuses the connection (as nginx's `proxy_next_upstream error` does).

Runs in a thread of the bench with its own asyncio loop. `disable(n)` takes node n out of rotation (a
deploy drains a node before stopping it); connections already open finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time


class LoadBalancer:
    def __init__(self, backends: list[int], port: int) -> None:
        self.backends = backends  # ports on 127.0.0.1
        self.port = port
        self.enabled = [True] * len(backends)
        self.connections = [0] * len(backends)
        self.active = [0] * len(backends)  # connections open now, per node
        self.failovers = 0
        self._turn = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-lb", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def disable(self, n: int, drain_timeout: float = 30.0) -> None:
        """Take node n out of rotation and wait until the connections it was given are finished."""
        self.enabled[n] = False
        deadline = time.monotonic() + drain_timeout
        while self.active[n] and time.monotonic() < deadline:
            time.sleep(0.01)

    def enable(self, n: int) -> None:
        self.enabled[n] = True

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=4096)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _connect(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter]:
        first = next(self._turn)
        for attempt in range(4 * len(self.backends)):
            n = (first + attempt) % len(self.backends)
            if not self.enabled[n] and any(self.enabled):
                continue
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.backends[n])
                return n, reader, writer
            except OSError:
                self.failovers += 1
                await asyncio.sleep(0.01 * attempt)
        raise ConnectionRefusedError("no web node accepts connections")

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            n, reader, writer = await self._connect()
        except OSError:
            client_writer.close()
            return
        self.connections[n] += 1
        self.active[n] += 1

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except OSError:
                pass
            finally:
                if sink.can_write_eof():
                    with contextlib.suppress(OSError):
                        sink.write_eof()

        try:
            await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))
        finally:
            self.active[n] -= 1
            writer.close()
            client_writer.close()
