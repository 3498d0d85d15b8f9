"""An embedded server speaking just enough of the DynamoDB JSON protocol for the write benches:
every call is answered after `latency` seconds, BatchWriteItem succeeds in full (items are
counted, not kept). It runs in its own process so its work never competes with the handler's
for the GIL, and listens on 127.0.0.1 only.

    python -m bench.ddbserver LATENCY_SECONDS   (prints its port, then serves until killed)
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.env import PYTHON, REPO, bench_env


def serve(latency: float) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects
        # Headers and body leave in separate writes: with Nagle's algorithm on, the client's
        # delayed ACK would add ~40 ms to every call.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            time.sleep(latency)
            # Parsing the body would put the server's own CPU into the measured time; a request
            # botocore mangled still fails here, loudly.
            if operation == "BatchWriteItem" and body.startswith(b'{"RequestItems": {'):
                answer = b'{"UnprocessedItems":{}}'
            else:
                answer = b'{"__type":"com.amazon.coral.validate#ValidationException",' + (
                    b'"message":"bench server: only BatchWriteItem"}'
                )
            self.send_response(200 if answer.startswith(b'{"Unprocessed') else 400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


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
