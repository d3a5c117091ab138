"""The web page at / : three static files from roto_server/web, served with strict headers.

The page holds no data (everything comes through the authenticated APIs), so / is public. The
script and style sheet are named in index.html with a hash of their content: a browser may keep
them for a year, and a new version of the page asks for new names.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw

from roto_server.api.errors import ApiError

# No inline script or style may run: a value the server stores can never become code in the page.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
REVALIDATE = "no-cache"  # keep, but ask each time (answered 304 while unchanged)
FOREVER = "public, max-age=31536000, immutable"
ASSETS = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    etag: str


def _asset(body: bytes, content_type: str) -> Asset:
    return Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


def load_page() -> tuple[Asset, dict[str, Asset]]:
    """index.html with the asset names versioned, and the assets by name."""
    folder = resources.files("roto_server") / "web"
    assets = {name: _asset((folder / name).read_bytes(), kind) for name, kind in ASSETS.items()}
    html = (folder / "index.html").read_text("utf-8")
    for name, asset in assets.items():
        html = html.replace(f"/web/{name}", f"/web/{name}?v={asset.etag.strip(chr(34))}")
    return _asset(html.encode(), "text/html; charset=utf-8"), assets


def _send(request: Request, asset: Asset, cache: str) -> HTTPResponse:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache, "ETag": asset.etag}
    if request.headers.get("if-none-match") == asset.etag:
        return raw(b"", status=304, headers=headers)
    return raw(asset.body, content_type=asset.content_type, headers=headers)


def install(app: Sanic) -> None:
    index, assets = load_page()

    @app.route("/", methods=["GET", "HEAD"])
    async def page(request: Request) -> HTTPResponse:
        return _send(request, index, REVALIDATE)

    @app.route("/web/<name:str>", methods=["GET", "HEAD"])
    async def asset(request: Request, name: str) -> HTTPResponse:
        found = assets.get(name)
        if found is None:
            raise ApiError(404, f"no file {name[:64]!r}: the page has {', '.join(sorted(assets))}")
        current = request.args.get("v") == found.etag.strip('"')
        return _send(request, found, FOREVER if current else REVALIDATE)
