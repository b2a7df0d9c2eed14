"""Signing in with an admin API key, the session it opens, CSRF tokens and security headers."""

import functools
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import select

from loyalty import clock
from loyalty.extensions import db
from loyalty.models import ApiKey
from loyalty.services import api_keys
from loyalty.web import blp

SESSION_LIFETIME = timedelta(hours=12)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

#: No inline script anywhere; CodeMirror sets styles through the CSSOM, which style-src does not govern.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if token is None:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


@blp.app_template_global("csrf_token")
def _csrf_token_for_templates() -> str:
    return csrf_token()


@blp.before_request
def check_csrf():
    """Every state-changing request carries the session's token, in the form or a header."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    expected = session.get(CSRF_FIELD)
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "The form has expired or did not come from this site: reload the page and try again.")
    return None


@blp.after_request
def security_headers(response):
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def signed_in_key() -> ApiKey | None:
    """The admin key the session was opened with, if it is still valid and admin."""
    key_id, since = session.get("admin_key_id"), session.get("signed_in_at")
    if key_id is None or since is None:
        return None
    if clock.now() - datetime.fromtimestamp(since, UTC) > SESSION_LIFETIME:
        return None
    key = db.session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None or key.scope != "admin":
        return None
    return key


def admin_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = signed_in_key()
        if key is None:
            session.pop("admin_key_id", None)
            if request.method != "GET" or request.headers.get(CSRF_HEADER):
                abort(401, "Your session has ended: sign in again.")
            return redirect(url_for("admin.sign_in", next=request.full_path.rstrip("?")))
        g.admin_name = key.name
        return view(*args, **kwargs)

    return wrapper


def actor() -> str:
    return g.admin_name


@blp.route("/login", methods=["GET", "POST"])
def sign_in():
    error = None
    if request.method == "POST":
        principal = api_keys.authenticate(db.session, request.form.get("api_key", "").strip())
        if principal is None:
            error = "That key is not valid (or has been revoked)."
        elif principal.scope != "admin":
            error = "That key has scope pos: signing in needs a key with scope admin."
        else:
            key_id = db.session.scalar(select(ApiKey.id).where(ApiKey.name == principal.name))
            session.clear()  # a fresh session and CSRF token: nothing carries over from before sign-in
            session.update(admin_key_id=key_id, signed_in_at=int(clock.now().timestamp()),
                           csrf_token=secrets.token_urlsafe(32))
            flash(f"Signed in as {principal.name}.")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("admin/login.html", error=error), 401 if error else 200


@blp.post("/logout")
def sign_out():
    session.clear()
    flash("Signed out.")
    return redirect(url_for("admin.sign_in"))


@blp.get("/")
@admin_required
def home():
    return redirect(url_for("admin.dashboard"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site's /admin: never an open redirect."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("admin.dashboard")


@blp.errorhandler(400)
@blp.errorhandler(401)
@blp.errorhandler(404)
def error_page(error):
    if request.headers.get(CSRF_HEADER):
        return {"error": {"code": error.name.lower().replace(" ", "_"), "message": error.description,
                          "details": {}}}, error.code
    return render_template("admin/error.html", error=error), error.code
