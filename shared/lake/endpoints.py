"""GET /v1/lake/files: where the caller's lake files are, for `parley export --format parquet`
(docs/lake.md "Export").

Answers the tenant's Parquet files whose partition date is in [since, until], each with a URL
to fetch it: a presigned S3 GET valid for URL_SECONDS on AWS (Lambda answers stop at 6 MB; a
compacted partition can be larger), the file's `file://` URI with a local folder lake (make
dev, where the CLI runs on the same machine). Only the caller's tenant folder is ever listed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from shared import cursors, query, services
from shared.http import JSONBody, RequestContext, route

URL_SECONDS = 900


async def list_lake_files(request: Request, ctx: RequestContext) -> Response:
    from shared.lake.query import files_in_range

    since, until = query.date(request, "since"), query.date(request, "until")
    since, until = since and since[:10], until and until[:10]  # partitions are whole days
    if since and until and since > until:
        raise query.invalid("since", "must not be after 'until'", since)
    limit = query.integer(request, "limit", default=1000, low=1, high=1000)
    scope = ("lake-files", ctx.tenant, since or "", until or "")
    cursor = query.cursor(request)
    # The last file sent, as "<date>/<name>": signed for this tenant and range like every cursor.
    after = cursors.open_cursor(cursor, scope, 1)[0] if cursor else ""
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
    last = f"{page[-1].partition.date}/{page[-1].name}" if more else None
    return JSONBody({"data": data, "nextCursor": cursors.seal([last], scope) if last else None})


LAKE_FILES_ROUTE = route("/v1/lake/files", list_lake_files, ["GET"])
