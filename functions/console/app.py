"""GET / and GET /console/{file} — the web console's static page (holds no data: every data
call it makes carries the API key the user pasted)."""

from mangum import Mangum

from shared.console import console_routes
from shared.http import create_app

app = create_app(console_routes())
handler = Mangum(app, lifespan="off")
