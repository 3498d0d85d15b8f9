"""GET /v1/lake/files: where the caller's lake files are, for `parley export --format parquet`
(docs/lake.md "Export").

Answers the tenant's Parquet files whose partition date is in [since, until], each with a URL
to fetch it: a presigned S3 GET valid for URL_SECONDS on AWS (Lambda answers stop at 6 MB; a
compacted partition can be larger), the file's `file://` URI with a local folder lake (make
dev, where the CLI runs on the same machine). Only the caller's tenant folder is ever listed.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from shared import services
from shared.errors import BadRequest
from shared.http import JSONBody, RequestContext, query_int, route

URL_SECONDS = 900
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name) or None
    if raw is not None and not _DATE.fullmatch(raw):
        raise BadRequest(f"{name} must be a date like 2026-01-31")
    return raw


async def list_lake_files(request: Request, ctx: RequestContext) -> Response:
    from shared.lake.query import files_in_range

    since, until = _date(request, "since"), _date(request, "until")
    if since and until and since > until:
        raise BadRequest("since must not be after until")
    limit = query_int(request, "limit", default=1000, low=1, high=1000)
    after = request.query_params.get("cursor") or ""  # "<date>/<name>" of the last file sent
    store = services.lake_store()
    files = [
        f
        for f in files_in_range(store, ctx.tenant, since, until)
        if f"{f.partition.date}/{f.name}" > after
    ]
    page = files[:limit]
    data = [
        {
            "date": f.partition.date,
            "name": f.name,
            "bytes": f.size,
            "url": store.download_url(f, URL_SECONDS),
        }
        for f in page
    ]
    more = len(files) > limit
    cursor = f"{page[-1].partition.date}/{page[-1].name}" if more else None
    return JSONBody({"data": data, "nextCursor": cursor})


LAKE_FILES_ROUTE = route("/v1/lake/files", list_lake_files, ["GET"])
