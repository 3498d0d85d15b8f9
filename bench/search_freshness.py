"""Search freshness on make dev: the time from an ingest's 200 to the record being returned by
GET /v1/search, through the real write path (stream → lake writer's batch file → the search
tail). Starts its own dev server (python -m devtools.server) with a lake folder of its own."""

from __future__ import annotations

import os
import tempfile
import time
import urllib.parse
import uuid

from bench import loadtest

RECORDS = 50
DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.05


def measure(records: int = RECORDS) -> list[float]:
    """Seconds from each ingest's 200 to its first hit, one record at a time."""
    key = f"prl_{uuid.uuid4().hex}{uuid.uuid4().hex}"
    saved = os.environ.get("LAKE_URI")
    os.environ["LAKE_URI"] = tempfile.mkdtemp(prefix="parley-freshness-")
    try:
        process, base_url, _ = loadtest.start_server(key)
    finally:
        if saved is None:
            os.environ.pop("LAKE_URI", None)
        else:
            os.environ["LAKE_URI"] = saved
    client = loadtest.Client(base_url, key)
    tally = loadtest.Tally()
    delays = []
    try:
        for n in range(records):
            word = f"fresh{uuid.uuid4().hex[:10]}"
            event = {"conversation_id": f"fresh-{n}", "role": "user", "message": f"{word} {n}"}
            client.send(tally, "POST", "/v1/ingest", {"events": [event]})
            acknowledged = time.perf_counter()
            path = "/v1/search?" + urllib.parse.urlencode({"q": word})
            while True:
                status, body, _ = client.call("GET", path)
                if status == 200 and body["data"]:
                    delays.append(time.perf_counter() - acknowledged)
                    break
                if time.perf_counter() - acknowledged > DEADLINE_SECONDS:
                    raise RuntimeError(f"{word} not found {DEADLINE_SECONDS:.0f} s after its 200")
                time.sleep(POLL_SECONDS)
    finally:
        loadtest.stop_server(process)
    return delays
