"""Flask extensions, created unbound and wired in by the app factory."""

from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING_CONVENTION),
    session_options={"expire_on_commit": False},
)
migrate = Migrate()


def _rate_limit_key() -> str:
    from loyalty.http.limits import caller_key  # it needs db from this module

    return caller_key()


#: Rate limits: keys, limits and storage are set up by loyalty.http.limits.
limiter = Limiter(key_func=_rate_limit_key)
