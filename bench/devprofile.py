"""Where `make dev` spends its time under load: the dev server with a sampling profiler.

    .venv/bin/python -m bench.devprofile [--interval-ms 5] [--top 30] [--out FILE]

Runs `devtools.server` as `make dev` does (same environment variables) while a background
thread samples every thread's Python stack. Threads waiting (for a lock, a socket, a queue,
a select) are not counted, so the figures are where the CPU time goes. On Ctrl-C (or SIGTERM)
it prints, to --out or standard error, the functions most often running (own time) and most
often on the stack (cumulative), and how the busy samples split between moto, botocore,
Parley's code (shared/, devtools/), the HTTP layers and the rest. Not part of `make bench`;
cProfile cannot see the server's many threads, and py-spy is not a dependency.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import TextIO

# A thread whose innermost Python frame is one of these is waiting, not working.
_WAITING = {
    ("threading.py", "wait"),
    ("threading.py", "_wait_for_tstate_lock"),
    ("threading.py", "join"),
    ("selectors.py", "select"),
    ("socket.py", "accept"),
    ("socket.py", "readinto"),
    ("socketserver.py", "serve_forever"),
    ("queue.py", "get"),
    ("thread.py", "_worker"),
    ("base_events.py", "_run_once"),
    ("ssl.py", "read"),
    ("moto_dynamodb.py", "call_action"),  # waiting for the one-request-at-a-time lock
    ("werkzeug_app.py", "get_application"),  # waiting for moto's dispatch lock
}
_AREAS = (
    ("/moto/", "moto"),
    ("/botocore/", "botocore"),
    ("/boto3/", "botocore"),
    ("/werkzeug/", "werkzeug (moto's HTTP server)"),
    ("/flask/", "werkzeug (moto's HTTP server)"),
    ("/shared/", "shared/"),
    ("/devtools/", "devtools/"),
    ("/uvicorn/", "uvicorn/h11/starlette/mangum"),
    ("/h11/", "uvicorn/h11/starlette/mangum"),
    ("/starlette/", "uvicorn/h11/starlette/mangum"),
    ("/mangum/", "uvicorn/h11/starlette/mangum"),
    ("/pydantic", "pydantic"),
    ("/urllib3/", "urllib3"),
    ("/json/", "json"),
    ("/copy.py", "copy (deepcopy)"),
)


def _short(frame: FrameType) -> str:
    code = frame.f_code
    parts = Path(code.co_filename).parts
    return f"{'/'.join(parts[-2:])}:{code.co_name}"


def _area(frame: FrameType) -> str:
    name = frame.f_code.co_filename
    for marker, area in _AREAS:
        if marker in name:
            return area
    return "other"


class Sampler:
    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.own: Counter[str] = Counter()
        self.cumulative: Counter[str] = Counter()
        self.areas: Counter[str] = Counter()
        self.busy = 0
        self.idle = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    self._sample(frame)

    def _sample(self, leaf: FrameType) -> None:
        if (Path(leaf.f_code.co_filename).name, leaf.f_code.co_name) in _WAITING:
            self.idle += 1
            return
        self.busy += 1
        self.own[_short(leaf)] += 1
        self.areas[_area(leaf)] += 1
        seen: set[str] = set()
        frame: FrameType | None = leaf
        while frame is not None:
            seen.add(_short(frame))
            frame = frame.f_back
        self.cumulative.update(seen)

    def report(self, out: TextIO, top: int, seconds: float) -> None:
        busy = max(self.busy, 1)
        print(
            f"{seconds:.0f} s sampled: {self.busy} busy samples, {self.idle} waiting",
            file=out,
        )
        print("\nBusy samples by area (innermost frame):", file=out)
        for area, n in self.areas.most_common():
            print(f"  {100 * n / busy:5.1f}%  {area}", file=out)
        print(f"\nTop {top} by own samples:", file=out)
        for name, n in self.own.most_common(top):
            print(f"  {100 * n / busy:5.1f}%  {name}", file=out)
        print(f"\nTop {top} by cumulative samples:", file=out)
        for name, n in self.cumulative.most_common(top):
            print(f"  {100 * n / busy:5.1f}%  {name}", file=out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interval-ms", type=float, default=5.0)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, help="write the report here (default: stderr)")
    args = parser.parse_args()

    from devtools import server

    sampler = Sampler(args.interval_ms / 1000)
    started = time.monotonic()
    sampler.start()
    try:
        code = server.main()
    finally:
        sampler.stop()
        seconds = time.monotonic() - started
        if args.out:
            with args.out.open("w") as out:
                sampler.report(out, args.top, seconds)
        else:
            sampler.report(sys.stderr, args.top, seconds)
    return code


if __name__ == "__main__":
    sys.exit(main())
