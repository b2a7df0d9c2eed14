"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

Each run starts from an empty database of its own (a temporary SQLite file, or
a PostgreSQL database created for the test and dropped after it), upgrades to
head, and asks Alembic's autogenerate what it would still change. Then it
downgrades to base, checks nothing but ``alembic_version`` is left, and
upgrades again.

Server defaults are compared too (``compare_server_default=True``): the models
set their defaults in Python (``default=``), never ``server_default=``, and the
migrations add none, so there is no noise to ignore; a difference there would
be a real drift.
"""

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from config import TestingConfig
from loyalty import create_app
from loyalty.extensions import db
from loyalty.models.member import MEMBERS_FILLFACTOR

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = str(ROOT / "migrations")
POSTGRES_URL = os.environ.get("LOYALTY_TEST_DATABASE_URL", "").strip()


def _postgres_database() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"loyalty_migrations_check_{os.getpid()}_{worker}"


def _admin_engine():
    return sa.create_engine(sa.engine.make_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")


def _recreate(name: str, create: bool) -> None:
    admin = _admin_engine()
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL suite skipped: LOYALTY_TEST_DATABASE_URL is not set")
    name = _postgres_database()
    _recreate(name, create=True)
    try:
        yield sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _recreate(name, create=False)


@pytest.fixture
def migration_app(empty_database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, db.metadata)


def tables() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_migrations_from_empty_match_the_models(migration_app):
    assert tables() == set()
    upgrade(directory=MIGRATIONS)
    assert tables() == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
    assert schema_differences() == []


def test_downgrade_to_base_and_upgrade_again(migration_app):
    upgrade(directory=MIGRATIONS)
    downgrade(directory=MIGRATIONS, revision="base")
    assert tables() == {"alembic_version"}
    upgrade(directory=MIGRATIONS)
    assert schema_differences() == []
    with db.engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    assert len(heads) == 1


def test_the_comparison_would_see_a_drift(migration_app):
    """Guard against a comparison that silently compares nothing."""
    upgrade(directory=MIGRATIONS)
    drifted = sa.MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["members"].append_column(sa.Column("nickname", sa.String(40)))
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, drifted)
    assert [(d[0], d[3].name) for d in differences] == [("add_column", "nickname")]


def test_members_pages_leave_room_for_hot_updates(migration_app):
    """A change of points rewrites the member's row; on PostgreSQL its page keeps room for the new version."""
    upgrade(directory=MIGRATIONS)
    if db.engine.dialect.name != "postgresql":
        pytest.skip("fillfactor is a PostgreSQL storage parameter")
    with db.engine.connect() as connection:
        options = connection.execute(sa.text("SELECT reloptions FROM pg_class WHERE relname = 'members'")).scalar()
    assert options == [f"fillfactor={MEMBERS_FILLFACTOR}"]
    downgrade(directory=MIGRATIONS, revision="0012")
    with db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT reloptions FROM pg_class WHERE relname = 'members'")).scalar() is None
