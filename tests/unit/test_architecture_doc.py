"""docs/architecture.md stays true: every repository path it names exists, every function it
calls a module's own is defined there, and every function, API, layer, table, queue, bucket
and Glue resource of template.yaml is named in it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from devtools.template import ROOT, load_template

DOC = ROOT / "docs" / "architecture.md"
# A path the doc names: shared/…, functions/…, devtools/…, tests/…, events/…, openapi/… .
PATH = re.compile(r"\b((?:shared|functions|devtools|tests|events|openapi|docs)/[\w./<>-]*)")
# "`shared/x.py` `name`": a module followed by one of its functions or classes.
MODULE_NAME = re.compile(r"`(shared/[\w/]+\.py)` `(\w+)`")


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def named_paths() -> set[str]:
    found = set()
    for raw in PATH.findall(doc_text()):
        path = raw.rstrip(".,")
        # A pattern such as functions/<name>/app.py must match at least one path.
        found.add(re.sub(r"<[^>]*>", "*", path))
    return found


def exists(path: str) -> bool:
    return any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()


def test_every_named_path_exists() -> None:
    missing = sorted(p for p in named_paths() if not exists(p))
    assert not missing, f"docs/architecture.md names paths the tree does not have: {missing}"


def test_doc_names_paths() -> None:
    # The check above must have something to check.
    assert {"shared/http.py", "shared/settings.py", "shared/services.py"} <= named_paths()


def defined_names(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_named_functions_are_defined_where_the_doc_says() -> None:
    pairs = MODULE_NAME.findall(doc_text())
    assert pairs
    wrong = [f"{m} {n}" for m, n in pairs if n not in defined_names(ROOT / m)]
    assert not wrong, f"not defined where docs/architecture.md says: {wrong}"


def test_every_template_resource_is_in_the_doc() -> None:
    text = doc_text()
    resources = load_template()["Resources"]
    kinds = {
        "AWS::Serverless::Function",
        "AWS::Serverless::Api",
        "AWS::Serverless::LayerVersion",
        "AWS::DynamoDB::Table",
        "AWS::SQS::Queue",
        "AWS::S3::Bucket",
        "AWS::Glue::Table",
        "AWS::Glue::Database",
    }
    absent = []
    for name, resource in resources.items():
        if resource["Type"] not in kinds:
            continue
        if f"`{name}`" not in text and not re.search(rf"\b{name}\b", text):
            absent.append(name)
    assert not absent, f"template resources missing from docs/architecture.md: {absent}"
