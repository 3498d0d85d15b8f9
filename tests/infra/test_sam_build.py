"""The deploy build itself: `make build` (`sam build`, every function and layer) succeeds, each
function's unzipped package fits Lambda's 250 MB, and the layers hold what Lambda's runtime
(Python 3.13 on arm64, Amazon Linux 2023's glibc 2.34) can import, as far as that can be
checked without an arm64 machine: the pinned distributions, arm64 wheels and shared objects,
and a .pyc for every module."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import Tag, parse_tag
from packaging.utils import canonicalize_name
from samtranslator.yaml_helper import yaml_parse  # type: ignore[import-untyped]

from devtools.template import ROOT, TEMPLATE_PATH
from tests.infra.conftest import LAMBDA_UNZIPPED_LIMIT, PACKAGE_SIZES
from tests.infra.test_template import packaged_and_transformed

LAMBDA_GLIBC = (2, 34)
LAMBDA_PYTHON = (3, 13)
EM_AARCH64 = 183  # the ELF header's e_machine for arm64
# CPython 3.13's .pyc magic number (one for every 3.13.x, so Lambda's runtime's too).
PY313_MAGIC = (3571).to_bytes(2, "little") + b"\r\n"
PYC_UNCHECKED_HASH = 0b01  # hash-based and never checked against the source (`make build`)
INSIGHTS_ONLY = ("vaderSentiment", "yake")  # the Makefile's INSIGHTS_DEPS
# In their own layers, not SharedLayer: the Makefile's LAKE_DEPS and SEARCH_DEPS.
LAKE_AND_SEARCH_ONLY = ("duckdb", "duckdb-ext-httpfs", "tantivy")
CLUSTERS_ONLY = ("numpy",)  # the Makefile's CLUSTERS_DEPS


@cache
def pins() -> dict[str, str]:
    """constraints.txt: canonical name → pinned version."""
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pinned = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {canonicalize_name(name): version for name, version in pinned}


def runtime_dependencies() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return [
            canonicalize_name(Requirement(dep).name)
            for dep in tomllib.load(handle)["project"]["dependencies"]
        ]


def unzipped_size(folder: Path) -> int:
    return sum(path.lstat().st_size for path in folder.rglob("*") if not path.is_dir())


def function_packages(build_dir: Path) -> dict[str, list[Path]]:
    """Function → its code folder and the folder of each layer it gets, as the SAM transform
    resolves the built template (the Globals' layer included)."""
    built = yaml_parse((build_dir / "template.yaml").read_text())
    cfn, local_uris = packaged_and_transformed(built)
    resources = cfn["Resources"]
    packages: dict[str, list[Path]] = {}
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resource["Properties"]
        keys = [props["Code"]["S3Key"]] + [
            resources[layer["Ref"]]["Properties"]["Content"]["S3Key"] for layer in props["Layers"]
        ]
        packages[name] = [build_dir / local_uris[key] for key in keys]
    return packages


def test_every_function_fits_lambdas_unzipped_limit(
    sam_build_dir: Path, request: pytest.FixtureRequest
) -> None:
    packages = function_packages(sam_build_dir)
    source = yaml_parse(TEMPLATE_PATH.read_text())["Resources"]
    declared = {name for name, r in source.items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(packages) == declared  # every function was built, with its layers
    sizes = request.config.stash.setdefault(PACKAGE_SIZES, {})
    for name, (code, *layers) in packages.items():
        handler_module = source[name]["Properties"]["Handler"].rsplit(".", 1)[0]
        assert (code / f"{handler_module}.py").is_file(), name
        assert all((layer / "python").is_dir() for layer in layers), name
        sizes[name] = sum(unzipped_size(folder) for folder in (code, *layers))
    print("\n".join(f"{name}: {size:,} bytes unzipped" for name, size in sorted(sizes.items())))
    too_big = {name: size for name, size in sizes.items() if size >= LAMBDA_UNZIPPED_LIMIT}
    assert not too_big, f"over Lambda's {LAMBDA_UNZIPPED_LIMIT:,} bytes unzipped: {too_big}"


# --- the layers ---------------------------------------------------------------------------------


def distributions(site: Path) -> dict[str, tuple[str, list[Tag]]]:
    """Each distribution pip installed into a layer: canonical name → (version, wheel tags)."""
    found: dict[str, tuple[str, list[Tag]]] = {}
    for info in site.glob("*.dist-info"):
        name, version = info.name.removesuffix(".dist-info").rsplit("-", 1)
        wheel = (info / "WHEEL").read_text()
        tags = [t for line in re.findall(r"^Tag: (.+)$", wheel, re.M) for t in parse_tag(line)]
        found[canonicalize_name(name)] = (version, tags)
    return found


def runs_on_lambda(tag: Tag) -> bool:
    """Whether pip on Lambda's python3.13 arm64 runtime would accept a wheel with this tag."""
    if tag.platform == "any":
        return tag.interpreter.startswith("py3") or tag.interpreter == "cp313"
    if tag.abi == "abi3":
        interpreter_ok = (
            re.fullmatch(r"cp3(\d+)", tag.interpreter) is not None
            and int(tag.interpreter[3:]) <= LAMBDA_PYTHON[1]
        )
    else:
        interpreter_ok = (tag.interpreter, tag.abi) == ("cp313", "cp313")
    glibc = re.fullmatch(r"manylinux_(\d+)_(\d+)_aarch64", tag.platform)
    platform_ok = tag.platform == "manylinux2014_aarch64" or (
        glibc is not None and (int(glibc[1]), int(glibc[2])) <= LAMBDA_GLIBC
    )
    return interpreter_ok and platform_ok


def layer_site(build_dir: Path, layer: str) -> Path:
    site = build_dir / layer / "python"
    assert site.is_dir(), f"{layer} was not built"
    return site


@pytest.mark.parametrize("layer", ["SharedLayer", "InsightsLayer"])
def test_layer_holds_pinned_wheels_for_lambdas_platform(sam_build_dir: Path, layer: str) -> None:
    site = layer_site(sam_build_dir, layer)
    installed = distributions(site)
    insights_only = {canonicalize_name(name) for name in INSIGHTS_ONLY}
    wanted = set(runtime_dependencies()) - {"boto3"}  # the Lambda runtime has boto3
    clusters_only = {canonicalize_name(name) for name in CLUSTERS_ONLY}
    other_layers = {canonicalize_name(name) for name in LAKE_AND_SEARCH_ONLY} | clusters_only
    wanted -= other_layers
    wanted = wanted & insights_only if layer == "InsightsLayer" else wanted - insights_only
    assert wanted <= set(installed), f"{layer} lacks {wanted - set(installed)}"
    assert not insights_only & set(installed) or layer == "InsightsLayer"  # API layer stays lean
    # numpy is also YAKE's dependency, so InsightsLayer holds its own copy.
    elsewhere = other_layers - clusters_only if layer == "InsightsLayer" else other_layers
    assert not elsewhere & set(installed), layer
    for name, (version, tags) in installed.items():
        # Every distribution, transitive ones too, is the version the tests ran.
        assert pins().get(name) == version, f"{layer}: {name} {version} is not pinned"
        assert any(runs_on_lambda(tag) for tag in tags), f"{layer}: {name} wheel {tags}"
    assert (site / "shared" / "__init__.py").is_file() == (layer == "SharedLayer")


def test_clusters_layer_holds_only_numpy(sam_build_dir: Path) -> None:
    installed = distributions(layer_site(sam_build_dir, "ClustersLayer"))
    assert set(installed) == {canonicalize_name(name) for name in CLUSTERS_ONLY}


@pytest.mark.parametrize("layer", ["InsightsLayer", "ClustersLayer"])
def test_numpy_is_the_arm64_manylinux_2_28_wheel(sam_build_dir: Path, layer: str) -> None:
    """numpy 2.5 ships no manylinux2014 wheel for arm64: the layer must hold its manylinux_2_28
    one (what a manylinux2014-only platform list could not resolve)."""
    version, tags = distributions(layer_site(sam_build_dir, layer))["numpy"]
    assert version == pins()["numpy"]
    assert {tag.platform for tag in tags} >= {"manylinux_2_28_aarch64"}
    assert all(tag.platform.endswith("_aarch64") and tag.abi == "cp313" for tag in tags), tags


@pytest.mark.parametrize("layer", ["SharedLayer", "InsightsLayer", "ClustersLayer"])
def test_layer_shared_objects_are_arm64(sam_build_dir: Path, layer: str) -> None:
    site = layer_site(sam_build_dir, layer)
    shared_objects = [p for p in site.rglob("*.so*") if p.is_file()]
    assert shared_objects  # pydantic_core, orjson / numpy, jellyfish...
    for path in shared_objects:
        header = path.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", path
        assert int.from_bytes(header[18:20], "little") == EM_AARCH64, path
        if ".cpython-" in path.name:  # an extension module: CPython 3.13's arm64 ABI
            assert path.name.endswith(".cpython-313-aarch64-linux-gnu.so"), path


@pytest.mark.parametrize("layer", ["SharedLayer", "InsightsLayer", "ClustersLayer"])
def test_layer_modules_are_precompiled_for_python313(sam_build_dir: Path, layer: str) -> None:
    """Lambda's runtime cannot write into the layer: a module without its .pyc is compiled
    again on every cold start."""
    site = layer_site(sam_build_dir, layer)
    modules = list(site.rglob("*.py"))
    assert modules
    for module in modules:
        pyc = module.parent / "__pycache__" / f"{module.stem}.cpython-313.pyc"
        assert pyc.is_file(), f"{layer}: {module.relative_to(site)} has no .pyc"
        header = pyc.read_bytes()[:8]
        assert header[:4] == PY313_MAGIC, pyc
        assert int.from_bytes(header[4:8], "little") == PYC_UNCHECKED_HASH, pyc
    stray = [p for p in site.rglob("*.pyc") if ".cpython-313." not in p.name]
    assert not stray, f"{layer}: .pyc of another Python: {stray[:5]}"


def test_function_code_folders_hold_only_their_handler(sam_build_dir: Path) -> None:
    """The functions' own code is their handler module; everything else comes from a layer."""
    for name, (code, *_layers) in function_packages(sam_build_dir).items():
        files = {p.name for p in code.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert files == {"app.py"}, (name, files)
