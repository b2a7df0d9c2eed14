"""The stack's own ceiling, served by the same gunicorn settings as the service.

- ``GET /hello``: a bare Flask JSON answer (ceiling H);
- ``POST /tx``: one two-statement transaction on the same database as the
  service (insert a row, update one of 10,000 counters), through SQLAlchemy
  with the service's own engine setup (ceiling T);
- ``POST /sql-accrual`` (``replay()``): the very statements one purchase
  accrual sends, replayed on the driver with fresh ids and nothing else: no
  framework, rules, ORM or serialization (ceiling S, the floor the
  accrual's own SQL sets).

Served by bench/http_load.py as ``gunicorn 'bench.ceiling:create()'`` (and
``replay()``) with DATABASE_URL set; ``replay()`` also needs API_KEY and
MEMBERS_FILE.
"""

import os
import random
import re
import uuid

import sqlalchemy as sa
from flask import Flask, jsonify

from bench.purchase import purchase
from loyalty.db.transactions import WRITE_OPTION, configure_engine
from loyalty.ids import new_id

COUNTERS = 10_000
METADATA = sa.MetaData()
ROWS = sa.Table("bench_rows", METADATA, sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("counter_id", sa.Integer, nullable=False), sa.Column("payload", sa.Text))
COUNTER_TABLE = sa.Table("bench_counters", METADATA, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("n", sa.BigInteger, nullable=False))


def _hello_app() -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello():
        return jsonify(hello="world")

    return app


def create() -> Flask:
    app = _hello_app()
    engine = sa.create_engine(os.environ["DATABASE_URL"])
    configure_engine(engine)

    @app.post("/tx")
    def transaction():
        counter_id = random.randrange(COUNTERS)
        with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection, connection.begin():
            connection.execute(ROWS.insert().values(counter_id=counter_id, payload="purchase 1250 USD"))
            connection.execute(COUNTER_TABLE.update().where(COUNTER_TABLE.c.id == counter_id)
                               .values(n=COUNTER_TABLE.c.n + 1))
        return jsonify(ok=True), 201

    return app


#: Ids an accrual creates (its event, entries) or names (its member): fresh ones in every replay.
GENERATED_ID = re.compile(r"\b(evt|txn)_[a-z2-7]{16}\b")
MEMBER_ID = re.compile(r"\bmem_[a-z2-7]{16}\b")
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK)\b", re.I)


def record_accrual(database_url: str, api_key: str, member_id: str, key: str) -> list[tuple[str, object]]:
    """(statement, driver parameters) of one real purchase accrual through the service, in order.

    The request is ``bench.purchase``'s, with ``key`` as its
    Idempotency-Key and source_id (a key used before would record a replay).
    BEGIN and COMMIT are left out: the replay opens and commits its own
    transaction, as T does.
    """
    from config import ProductionConfig
    from loyalty import create_app
    from loyalty.extensions import db

    app = create_app(ProductionConfig, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=database_url,
                     RATELIMIT_ENABLED=False, LOG_REQUESTS=False)
    recorded: list[tuple[str, object]] = []

    def accrue(request_key: str) -> None:
        headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": request_key}
        response = app.test_client().post("/v1/events", json=purchase(member_id, request_key), headers=headers)
        assert response.status_code == 201, response.get_json()

    def record(_connection, _cursor, statement, parameters, _context, _executemany):
        if not TRANSACTION_CONTROL.match(statement):
            recorded.append((statement, parameters))

    with app.app_context():
        accrue(f"{key}-warm-up")  # a new process reads its rules once; that is not part of an accrual
        sa.event.listen(db.engine, "before_cursor_execute", record)
        accrue(key)
        sa.event.remove(db.engine, "before_cursor_execute", record)
        db.engine.dispose()
    return recorded


def _fresh(value, member_id: str, recorded_key: str, key: str, ids: dict[str, str]):
    """``value`` (a driver parameter, or a list, tuple or dict of them) naming a new member, key and ids."""
    if isinstance(value, str):
        value = GENERATED_ID.sub(lambda m: ids.setdefault(m.group(0), new_id(m.group(1))), value)
        return MEMBER_ID.sub(member_id, value).replace(recorded_key, key)
    if isinstance(value, dict):
        return {name: _fresh(item, member_id, recorded_key, key, ids) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_fresh(item, member_id, recorded_key, key, ids) for item in value)
    return value


def replay_accrual(engine: sa.Engine, statements: list[tuple[str, object]], recorded_key: str, member_id: str,
                   key: str) -> None:
    """``record_accrual``'s statements in one transaction, for ``member_id`` with ``key`` and fresh ids."""
    ids: dict[str, str] = {}
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection, connection.begin():
        for statement, parameters in statements:
            connection.exec_driver_sql(statement, _fresh(parameters, member_id, recorded_key, key, ids))


def replay() -> Flask:
    """Ceiling S: each request sends one recorded accrual's statements again, for another member."""
    app = _hello_app()
    members = open(os.environ["MEMBERS_FILE"]).read().split()
    recorded_key = f"sql-floor-{uuid.uuid4().hex}"
    statements = record_accrual(os.environ["DATABASE_URL"], os.environ["API_KEY"], members[0], recorded_key)
    engine = sa.create_engine(os.environ["DATABASE_URL"])
    configure_engine(engine)

    @app.post("/sql-accrual")
    def sql_accrual():
        replay_accrual(engine, statements, recorded_key, random.choice(members), f"sql-floor-{uuid.uuid4().hex}")
        return jsonify(ok=True), 201

    return app


def prepare(database_url: str) -> None:
    """(Re)create the ceiling's tables with their 10,000 counters."""
    engine = sa.create_engine(database_url)
    METADATA.drop_all(engine)
    METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(COUNTER_TABLE.insert(), [{"id": i, "n": 0} for i in range(COUNTERS)])
    engine.dispose()
