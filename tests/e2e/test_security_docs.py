"""docs/security.md's curl blocks run as pasted against a real `make dev`, exactly as the
README's do (tests/e2e/test_readme.py: 2xx JSON unless an `<!-- expect: … -->` says otherwise)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, ServerProcess
from tests.e2e.test_readme import _PRELUDE, Block, curl_blocks

pytestmark = pytest.mark.e2e

DOC = ROOT / "docs" / "security.md"
BLOCKS = curl_blocks(DOC.read_text())


def test_the_page_has_its_example() -> None:
    assert any("rotate-secret" in block.code for block in BLOCKS)


@pytest.mark.parametrize("block", BLOCKS, ids=[f"docs/security.md:{b.line}" for b in BLOCKS])
def test_security_doc_curl_block_runs_as_pasted(
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
    where = f"docs/security.md:{block.line}"
    assert result.returncode == 0, f"{where}\n{result.stdout}\n{result.stderr}"
    calls = sorted(tmp_path.glob("*.status"))
    assert calls, f"{where}: no curl call ran"
    if block.expect:
        assert [int(c.read_text()) for c in calls] == list(block.expect), where
    for status_file in calls:
        status = int(status_file.read_text())
        body = status_file.with_suffix(".body").read_text()
        if not block.expect:
            assert 200 <= status < 300, (where, status, body)
        if status != 204:
            json.loads(body)
