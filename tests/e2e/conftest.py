"""One real `python -m devtools.server` for the whole e2e session, talked to over HTTP."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 60.0  # a start on a loaded machine (load average 15+ on 2 CPUs) takes 25 s
# Short, so the tests of stalled requests are quick; long enough for a loaded machine.
READ_TIMEOUT = 2.0
_LISTENING = re.compile(r"^Listening on (http://\S+)")
_ENDPOINT = re.compile(r"DynamoDB endpoint: (http://\S+)")


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    keys: dict[str, str]
    state_file: Path
    lines: list[str] = field(default_factory=list)
    base_url: str = ""
    dynamodb_endpoint: str = ""
    _ready: threading.Event = field(default_factory=threading.Event)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            self.lines.append(line)
            if match := _ENDPOINT.search(line):
                self.dynamodb_endpoint = match.group(1)
            if match := _LISTENING.match(line):
                self.base_url = match.group(1)
                self._ready.set()
        self._ready.set()  # the process ended: stop waiting

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


def start_server(
    keys: dict[str, str] | None = None, env_overrides: dict[str, str] | None = None
) -> ServerProcess:
    """Start the local server on a free port and wait for its "Listening on" line."""
    env = {k: v for k, v in os.environ.items() if k != "PARLEY_DYNAMODB_ENDPOINT"}
    # Each server writes its state file apart: never the checkout's, never another's.
    state_file = Path(tempfile.mkdtemp(prefix="parley-e2e-")) / "dev.json"
    env.update(
        PARLEY_PORT="0",
        PYTHONUNBUFFERED="1",
        PARLEY_DEV_STATE=str(state_file),
        PARLEY_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT),
        # Each server's analytics lake apart too (a folder, as in make dev).
        LAKE_URI=str(state_file.parent / "lake"),
        # …and its data folder (never the checkout's .parley/, never another server's).
        PARLEY_DATA_DIR=str(state_file.parent / "data"),
    )
    env.pop("PARLEY_DEV_KEYS", None)
    env.update(env_overrides or {})
    if keys:
        env["PARLEY_DEV_KEYS"] = ",".join(f"{tenant}={key}" for tenant, key in keys.items())
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.server"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = ServerProcess(process, dict(keys or {}), state_file)
    threading.Thread(target=server._pump, daemon=True).start()
    if not server._ready.wait(STARTUP_TIMEOUT) or not server.base_url:
        server.stop(signal.SIGKILL)
        pytest.fail(f"the local server did not start:\n{server.output}")
    return server


def new_key() -> str:
    return "prl_" + secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def server() -> Iterator[ServerProcess]:
    """The local API with one seeded key for each of `acme` and `globex`."""
    running = start_server({"acme": new_key(), "globex": new_key()})
    yield running
    # Ctrl-C must stop it cleanly too (SIGTERM has its own test).
    code = running.stop(signal.SIGINT)
    assert code == 0, running.output
    assert "Traceback" not in running.output, running.output
    # After the start-up banner (which prints the dev keys on purpose), no key ever appears.
    served = running.output.partition("\nListening on ")[2]
    assert served, running.output
    assert not any(key in served for key in running.keys.values()), "a key was logged"


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("Chromium is needed by the console tests: run `make test-tools`")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (its own browser download is never used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()
