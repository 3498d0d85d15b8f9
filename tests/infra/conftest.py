"""The deploy build (`make build`, i.e. `sam build`) run once per session into a temp dir, and
the size of each function's unzipped package shown at the end of the run."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from devtools.template import ROOT

# What the infra tests measured, for the summary at the end of the run: function → bytes.
PACKAGE_SIZES = pytest.StashKey[dict[str, int]]()
BUILD_SECONDS = pytest.StashKey[float]()
# Lambda's limit on a function's code plus all its layers, unzipped.
LAMBDA_UNZIPPED_LIMIT = 262_144_000


@pytest.fixture(scope="session")
def sam_build_dir(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """Every function and layer as `make build` deploys them (Lambda's platform: arm64 wheels).
    `make build` installs the pinned aws-sam-cli into .venv-sam first if it is missing."""
    make = shutil.which("make")
    assert make is not None, "make is not installed"
    build_dir = tmp_path_factory.mktemp("sam-build")
    started = time.monotonic()
    done = subprocess.run(
        [make, "-s", "build", f"SAM_BUILD_DIR={build_dir}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"make build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    pytestconfig.stash[BUILD_SECONDS] = time.monotonic() - started
    return build_dir


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    sizes = config.stash.get(PACKAGE_SIZES, {})
    if not sizes:
        return
    seconds = config.stash.get(BUILD_SECONDS, 0.0)
    terminalreporter.section(
        f"make build ({seconds:.0f} s): each function unzipped, code + layers "
        f"(Lambda's limit: {LAMBDA_UNZIPPED_LIMIT / 2**20:.0f} MiB)"
    )
    for name, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        share = size / LAMBDA_UNZIPPED_LIMIT
        terminalreporter.write_line(f"{name:<32} {size / 2**20:6.1f} MiB  {share:6.1%}")
