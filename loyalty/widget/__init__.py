"""The customer widget: one script a merchant's page includes, served with an ETag, gzipped for
browsers that take it (the widget's whole weight on a page)."""

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

SCRIPT = Path(__file__).resolve().parent / "static" / "widget.js"
MAX_AGE_SECONDS = 300

blp = Blueprint("widget", __name__, description="The customer widget")


@lru_cache(maxsize=4)
def _script(mtime_ns: int) -> tuple[bytes, bytes, str]:
    body = SCRIPT.read_bytes()
    return body, gzip.compress(body, 9, mtime=0), hashlib.sha256(body).hexdigest()[:32]


def script() -> tuple[bytes, bytes, str]:
    """The script, gzipped, and its ETag, re-read when the file changes (handy while editing it)."""
    return _script(SCRIPT.stat().st_mtime_ns)


@blp.route("/widget.js")
class WidgetScript(MethodView):
    @blp.response(200, content_type="text/javascript",
                  description="The widget; ETag and a short public cache, 304 when unchanged.")
    @blp.doc(security=[])
    def get(self):
        """The embeddable widget: `<script src=".../widget.js" defer>` plus `<div data-loyalty-widget data-token>`."""
        plain, gzipped, etag = script()
        compressed = "gzip" in request.accept_encodings
        response = Response(gzipped if compressed else plain, mimetype="text/javascript")
        if compressed:
            response.content_encoding = "gzip"
        response.vary.add("Accept-Encoding")
        response.set_etag(f"{etag}-gz" if compressed else etag)
        response.cache_control.public = True
        response.cache_control.max_age = MAX_AGE_SECONDS
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response.make_conditional(request)
