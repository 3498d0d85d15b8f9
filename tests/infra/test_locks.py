"""The layers' hashed lock files (locks/, `make lock`, devtools/lock.py): each matches
constraints.txt, holds its layer's dependencies with at least one sha256 each, and the
Makefile installs each layer from its lock alone, with --require-hashes."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devtools.lock import LOCKS, layer_requirements
from devtools.template import ROOT
from tests.infra.test_sam_build import pins

_ENTRY = re.compile(r"^(\S+)==(\S+)((?: \\\n    --hash=sha256:[0-9a-f]{64})+)$", re.MULTILINE)


def locked(layer: str) -> dict[str, tuple[str, list[str]]]:
    """name → (version, hashes) of locks/<layer>.txt; fails on any line it does not read."""
    text = (LOCKS / f"{layer}.txt").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    entries = {
        canonicalize_name(m.group(1)): (m.group(2), re.findall(r"[0-9a-f]{64}", m.group(3)))
        for m in _ENTRY.finditer(body)
    }
    assert _ENTRY.sub("", body).strip() == "", f"locks/{layer}.txt has lines that are not entries"
    return entries


@pytest.mark.parametrize("layer", sorted(layer_requirements()))
def test_each_lock_matches_constraints_txt(layer: str) -> None:
    entries = locked(layer)
    assert entries, f"locks/{layer}.txt is empty"
    for name, (version, hashes) in entries.items():
        assert pins().get(name) == version, (
            f"locks/{layer}.txt has {name}=={version}, constraints.txt "
            f"{pins().get(name)}: run `make lock`"
        )
        assert hashes, name


@pytest.mark.parametrize("layer", sorted(layer_requirements()))
def test_each_lock_holds_its_layers_dependencies(layer: str) -> None:
    entries = locked(layer)
    for dependency in layer_requirements()[layer]:
        requirement = Requirement(dependency)
        name = canonicalize_name(requirement.name)
        assert name in entries, f"{dependency} is not in locks/{layer}.txt: run `make lock`"
        assert requirement.specifier.contains(entries[name][0], prereleases=True)


def test_every_runtime_dependency_but_boto3_has_a_layer() -> None:
    placed = {Requirement(d).name for deps in layer_requirements().values() for d in deps}
    assert "boto3" not in placed
    assert "standardwebhooks" in placed
    assert {"tantivy", "duckdb", "yake"} <= placed


@pytest.mark.parametrize("layer", sorted(layer_requirements()))
def test_the_makefile_installs_each_layer_from_its_lock_with_hashes(
    layer: str, tmp_path: Path
) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    result = subprocess.run(
        [make, "-n", f"build-{layer}", f"ARTIFACTS_DIR={tmp_path}", f"PYTHON={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (pip_line,) = (line for line in result.stdout.splitlines() if " pip install " in line)
    assert "--require-hashes --no-deps -r locks/" + layer + ".txt" in pip_line, pip_line
    assert pip_line.rstrip().endswith(f"locks/{layer}.txt"), "nothing installed beside the lock"
    assert " -c " not in pip_line
