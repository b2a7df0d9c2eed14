"""A fresh PostgreSQL database for a benchmark run."""

import sqlalchemy as sa


def recreate_postgres(url: str) -> str:
    """Drop and create the database ``url`` names (connecting to ``postgres``); returns ``url``."""
    parsed = sa.engine.make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    return parsed.render_as_string(hide_password=False)
