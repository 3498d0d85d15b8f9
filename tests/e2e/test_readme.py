"""Every README and docs/*.md command with curl runs as pasted against a real `make dev`.

Each ```bash block of README.md and docs/*.md that calls curl runs in bash with $PARLEY_URL and
$PARLEY_KEY set, and `curl` wrapped to record each call's status and body. Each call must answer
2xx JSON, unless an `<!-- expect: 409 … -->` comment right above the block lists other statuses
(one per call, in order). Blocks added later (other APIs, other sections, new docs) are picked up
by themselves.
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

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(
    r"(?:<!--\s*expect:\s*(?P<expect>[\d\s]+?)\s*-->\s*\n)?^```bash\n(?P<code>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
_CURL = re.compile(r"(?:^|[\s|;&(])curl\s", re.MULTILINE)

# Runs before each block: strict bash, and a `curl` that records what each call answered
# (ordered by time; a pipeline runs it in a subshell, so no counter variable would survive).
# A call with `--fail` checks its own status (a poll: `until curl --fail …; do sleep …; done`),
# so its failed attempts are not recorded; its successful one is, like any other call.
_PRELUDE = r"""
set -euo pipefail
curl() {
  local call arg poll="" status=0
  for arg in "$@"; do [ "$arg" = --fail ] && poll=1; done
  call="$PARLEY_CURL_DIR/$(date +%s%N)-$BASHPID"
  command curl --output "$call.body" --write-out '%{http_code}' "$@" > "$call.status" || status=$?
  cat "$call.body" 2>/dev/null || true
  if [ "$status" -ne 0 ] && [ -n "$poll" ]; then mv "$call.status" "$call.failed-poll"; fi
  return "$status"
}
"""


@dataclass(frozen=True)
class Block:
    line: int
    code: str
    expect: tuple[int, ...]  # empty: every call answers 2xx
    source: str = "README.md"

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def curl_blocks(text: str, source: str = "README.md") -> list[Block]:
    blocks = []
    for match in _FENCE.finditer(text):
        code = match["code"]
        if not _CURL.search(code):
            continue
        expect = tuple(int(s) for s in (match["expect"] or "").split())
        line = text.count("\n", 0, match.start("code")) + 1
        blocks.append(Block(line, code, expect, source))
    return blocks


BLOCKS = [
    block
    for path in DOCUMENTS
    for block in curl_blocks(path.read_text(), str(path.relative_to(ROOT)))
]


def test_the_extractor_finds_the_examples() -> None:
    # The README's tour has one per API; the ingest and conversations references have more.
    assert len([b for b in BLOCKS if b.source == "README.md"]) >= 5
    assert len({b.source for b in BLOCKS}) >= 4
    sample = "<!-- expect: 404 401 -->\n```bash\ncurl -s x\ncurl -s y\n```\n```bash\nmake dev\n```"
    assert curl_blocks(sample) == [Block(3, "curl -s x\ncurl -s y\n", (404, 401))]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
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
    assert result.returncode == 0, f"{block.where}\n{result.stdout}\n{result.stderr}"
    calls = sorted(tmp_path.glob("*.status"))
    assert calls, f"{block.where}: no curl call ran"
    if block.expect:
        assert len(calls) == len(block.expect), f"{block.where}: {len(calls)} calls"
    for i, status_file in enumerate(calls):
        status = int(status_file.read_text())
        body = status_file.with_suffix(".body").read_text()
        if block.expect:
            assert status == block.expect[i], (block.where, status, body)
        else:
            assert 200 <= status < 300, (block.where, status, body)
        if status != 204:  # No Content: the one answer without a body
            json.loads(body)  # every other answer is JSON
