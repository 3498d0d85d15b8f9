"""An embedded server speaking just enough of the DynamoDB JSON protocol for the write benches:
every call is answered after `latency` seconds, BatchWriteItem succeeds in full (items are
not kept). It runs in its own process so its work never competes with the handler's for the
GIL, and listens on 127.0.0.1 only. One asyncio loop: all calls wait their latency at once, as
on DynamoDB's fleet, and the server's own CPU per call is a few microseconds (http.server's was
~0.3 ms per call, run one at a time under its GIL, and its listen backlog of 5 reset some of
the 16 connections the writer opens at once).

    python -m bench.ddbserver LATENCY_SECONDS   (prints its port, then serves until killed)
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from bench.env import PYTHON, REPO, bench_env

_OK = b'{"UnprocessedItems":{}}'
_REFUSED = b'{"__type":"com.amazon.coral.validate#ValidationException",' + (
    b'"message":"bench server: only BatchWriteItem"}'
)


async def _connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, latency: float
) -> None:
    # Answers leave in one write; no Nagle delay either way.
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:  # keep-alive, as botocore's pool expects
            head = await reader.readuntil(b"\r\n\r\n")
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
            await asyncio.sleep(latency)
            # Parsing the body would put the server's own CPU into the measured time; a
            # request botocore mangled still fails here, loudly.
            operation = headers.get(b"x-amz-target", b"").rsplit(b".", 1)[-1]
            ok = operation == b"BatchWriteItem" and body.startswith(b'{"RequestItems":')
            answer = _OK if ok else _REFUSED
            writer.write(
                b"HTTP/1.1 " + (b"200 OK" if ok else b"400 Bad Request") + b"\r\n"
                b"Content-Type: application/x-amz-json-1.0\r\n"
                b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer
            )
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve(latency: float) -> None:
    server = await asyncio.start_server(
        lambda reader, writer: _connection(reader, writer, latency), "127.0.0.1", 0, backlog=128
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def serve(latency: float) -> None:
    asyncio.run(_serve(latency))


@contextmanager
def running(latency: float) -> Iterator[str]:
    """Start the server in a child process; yields its endpoint URL."""
    child = subprocess.Popen(
        [PYTHON, "-m", "bench.ddbserver", str(latency)],
        cwd=REPO,
        env=bench_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        child.wait(timeout=10)


if __name__ == "__main__":
    serve(float(sys.argv[1]))
