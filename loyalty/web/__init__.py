"""/admin: the marketer's and operator's pages, server-rendered, signed in with an admin key.

The pages call the services directly; the few calls the rules editor makes
while typing (check, simulate, backtest) answer HTML fragments or JSON to the
same signed-in session, behind the same CSRF check as every form.
"""

from flask import Blueprint, Flask

blp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                static_folder="static", static_url_path="/static")


def init_app(app: Flask) -> None:
    """Register /admin; its session cookie is HttpOnly, SameSite=Strict, and Secure outside
    development and tests (which serve plain http on 127.0.0.1)."""
    from loyalty.web import audit, auth, dashboard, identity, members, program_builder, rules  # noqa: F401  (routes register on import)

    app.config["SESSION_COOKIE_HTTPONLY"] = True
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    if not app.config.get("SESSION_COOKIE_SECURE"):
        app.config["SESSION_COOKIE_SECURE"] = not (
            app.debug or app.testing or app.config.get("ENV_NAME") == "development")
    app.register_blueprint(blp)
