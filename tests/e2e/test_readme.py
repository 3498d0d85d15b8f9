"""Every README command with curl runs as pasted against a real `make dev`.

Each ```bash block of README.md that calls curl runs in bash with $PARLEY_URL and $PARLEY_KEY
set, and `curl` wrapped to record each call's status and body. Each call must answer 2xx JSON,
unless an `<!-- expect: 409 … -->` comment right above the block lists other statuses (one per
call, in order). Blocks added later (other APIs, other sections) are picked up by themselves.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, ServerProcess

pytestmark = pytest.mark.e2e

README = ROOT / "README.md"
_FENCE = re.compile(
    r"(?:<!--\s*expect:\s*(?P<expect>[\d\s]+?)\s*-->\s*\n)?^```bash\n(?P<code>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
_CURL = re.compile(r"(?:^|[\s|;&(])curl\s", re.MULTILINE)

# Runs before each block: strict bash, and a `curl` that records what each call answered
# (ordered by time; a pipeline runs it in a subshell, so no counter variable would survive).
_PRELUDE = r"""
set -euo pipefail
curl() {
  local call
  call="$PARLEY_CURL_DIR/$(date +%s%N)-$BASHPID"
  command curl --output "$call.body" --write-out '%{http_code}' "$@" > "$call.status"
  cat "$call.body"
}
"""


@dataclass(frozen=True)
class Block:
    line: int
    code: str
    expect: tuple[int, ...]  # empty: every call answers 2xx


def curl_blocks(text: str) -> list[Block]:
    blocks = []
    for match in _FENCE.finditer(text):
        code = match["code"]
        if not _CURL.search(code):
            continue
        expect = tuple(int(s) for s in (match["expect"] or "").split())
        blocks.append(Block(text.count("\n", 0, match.start("code")) + 1, code, expect))
    return blocks


BLOCKS = curl_blocks(README.read_text())


def test_the_extractor_finds_the_examples() -> None:
    assert len(BLOCKS) >= 7
    sample = "<!-- expect: 404 401 -->\n```bash\ncurl -s x\ncurl -s y\n```\n```bash\nmake dev\n```"
    assert curl_blocks(sample) == [Block(3, "curl -s x\ncurl -s y\n", (404, 401))]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b.line}" for b in BLOCKS])
def test_readme_curl_block_runs_as_pasted(
    block: Block, server: ServerProcess, tmp_path: Path
) -> None:
    bash = shutil.which("bash")
    assert bash
    assert shutil.which("curl"), "curl is needed: `make test` installs it"
    env = {
        **os.environ,
        "PARLEY_URL": server.base_url,
        "PARLEY_KEY": server.keys["acme"],
        "PARLEY_CURL_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [bash, "-c", _PRELUDE + block.code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"README.md:{block.line}\n{result.stdout}\n{result.stderr}"
    calls = sorted(tmp_path.glob("*.status"))
    assert calls, f"README.md:{block.line}: no curl call ran"
    if block.expect:
        assert len(calls) == len(block.expect), f"README.md:{block.line}: {len(calls)} calls"
    for i, status_file in enumerate(calls):
        status = int(status_file.read_text())
        body = status_file.with_suffix(".body").read_text()
        if block.expect:
            assert status == block.expect[i], (block.line, status, body)
        else:
            assert 200 <= status < 300, (block.line, status, body)
        if status != 204:  # No Content: the one answer without a body
            json.loads(body)  # every other answer is JSON
