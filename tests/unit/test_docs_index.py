"""The README stays a short entry point, and the documentation stays reachable from it.

The README is at most 300 lines and lists every docs/*.md file; every relative link in the README
and in docs/*.md names a file that exists and, after `#`, a heading that file has (as GitHub
makes anchors from headings).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 300

_FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def prose(text: str) -> str:
    """The text outside code blocks (a `](…)` in a code sample is not a link)."""
    return _FENCED.sub("", text)


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in _HEADING.findall(prose(path.read_text())):
        base = anchor(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def local_links(path: Path) -> list[str]:
    return [
        target
        for target in _LINK.findall(prose(path.read_text()))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def test_the_readme_is_at_most_300_lines() -> None:
    lines = README.read_text().count("\n")
    assert lines <= MAX_README_LINES, (
        f"README.md has {lines} lines (at most {MAX_README_LINES}): move detail into docs/"
    )


def test_the_readme_links_every_docs_file() -> None:
    linked = {target.split("#")[0] for target in local_links(README)}
    unlisted = [f"docs/{doc.name}" for doc in DOCS if f"docs/{doc.name}" not in linked]
    assert not unlisted, f"README.md's Documentation list lacks {unlisted}"


@pytest.mark.parametrize("path", [README, *DOCS], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_local_link_resolves(path: Path) -> None:
    broken = []
    for target in local_links(path):
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{path.relative_to(ROOT)}: {broken}"


def test_anchors_follow_githubs_rule() -> None:
    assert anchor("The conversations API (`/api/v1/conversations…`)") == (
        "the-conversations-api-apiv1conversations"
    )
    assert anchor("Delivery: at least once, retried for 24 hours") == (
        "delivery-at-least-once-retried-for-24-hours"
    )
