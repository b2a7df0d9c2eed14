"""Loyalty: points, tiers and rewards for a merchant's customers."""

from flask import Flask

from config import config_for


def create_app(config=None, **overrides) -> Flask:
    """Wire the application together; no migrations or network calls happen here."""
    app = Flask(__name__, instance_relative_config=True)
    app.json.sort_keys = False
    app.config.from_object(config if config is not None else config_for())
    app.config.from_prefixed_env("LOYALTY")
    app.config.update(overrides)
    _check_settings(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_operations(app)
    return app


def _check_settings(app: Flask) -> None:
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set (environment variable SECRET_KEY).")


def register_extensions(app: Flask) -> None:
    from pathlib import Path

    from loyalty.db import replica
    from loyalty.db.transactions import configure_engine
    from loyalty.extensions import db, migrate

    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                     render_as_batch=True)
    with app.app_context():
        configure_engine(db.engine, app.config["DATABASE_PING_IDLE_SECONDS"],
                         transaction_pooler=app.config["DATABASE_TRANSACTION_POOLER"])
    replica.init_app(app)


def register_blueprints(app: Flask) -> None:
    from loyalty import api, web
    from loyalty.widget import demo

    api.register(app)
    app.register_blueprint(demo.blp)
    web.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from flask import jsonify
    from sqlalchemy.exc import OperationalError

    from loyalty.errors import LoyaltyError, ServiceUnavailable
    from loyalty.extensions import db

    def handle_domain_error(error: LoyaltyError):
        return jsonify(error.body()), error.status

    def handle_database_down(error: OperationalError):
        db.session.rollback()
        app.logger.warning("database unavailable: %s", error.orig)
        unavailable = ServiceUnavailable("The database is unavailable; retry shortly.")
        return jsonify(unavailable.body()), 503, {"Retry-After": "1"}

    app.register_error_handler(LoyaltyError, handle_domain_error)
    app.register_error_handler(OperationalError, handle_database_down)


def register_commands(app: Flask) -> None:
    from loyalty.commands import cli

    cli.register(app)


def register_operations(app: Flask) -> None:
    """Request ids, JSON logs, metrics and security headers first, then rate limits."""
    from loyalty.http import bodies, limits
    from loyalty.observability import requests

    requests.init_app(app)
    bodies.init_app(app)
    limits.init_app(app)
