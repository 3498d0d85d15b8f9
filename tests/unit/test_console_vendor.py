"""The charting library the console serves is the pinned, unmodified Chart.js file from the
npm registry (docs/dashboard.md), with its license beside it, loaded by the page from the
console's own origin (no CDN), and never an HTML page of its own."""

from __future__ import annotations

import hashlib
import re

from shared.console import _FILES, STATIC

CHART_JS = "chart-4.6.2.umd.min.js"
# sha256 of dist/chart.umd.min.js in `npm pack chart.js@4.6.2` (docs/dashboard.md).
CHART_JS_SHA256 = "3f288f4f26882c26b58931fb586a9b4f30370b5de38d69dc005b0bd05b08e113"


def test_the_vendored_file_is_the_pinned_release_unmodified() -> None:
    body = (STATIC / CHART_JS).read_bytes()
    assert hashlib.sha256(body).hexdigest() == CHART_JS_SHA256
    assert b"Chart.js v4.6.2" in body[:200]
    license_text = (STATIC / "chart-4.6.2.LICENSE.md").read_text()
    assert "The MIT License" in license_text


def test_the_page_loads_it_from_its_own_origin() -> None:
    page = (STATIC / "index.html").read_text()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert scripts == [f"console/{CHART_JS}", "console/app.js"]  # relative: this origin only
    served, media_type = _FILES[CHART_JS]
    assert media_type.startswith("text/javascript")
    assert served == (STATIC / CHART_JS).read_bytes()
    assert "chart-4.6.2.LICENSE.md" not in _FILES  # kept in the tree, not served
