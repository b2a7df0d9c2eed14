"""The stack's own ceiling, served by the same gunicorn settings as the service.

- ``GET /hello``: a bare Flask JSON answer (ceiling H);
- ``POST /tx``: one two-statement transaction on the same database as the
  service (insert a row, update one of 10,000 counters), through SQLAlchemy
  with the service's own engine setup (ceiling T).

Served by bench/http_load.py as ``gunicorn 'bench.ceiling:create()'`` with DATABASE_URL set.
"""

import os
import random

import sqlalchemy as sa
from flask import Flask, jsonify

from loyalty.transactions import WRITE_OPTION, configure_engine

COUNTERS = 10_000
METADATA = sa.MetaData()
ROWS = sa.Table("bench_rows", METADATA, sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("counter_id", sa.Integer, nullable=False), sa.Column("payload", sa.Text))
COUNTER_TABLE = sa.Table("bench_counters", METADATA, sa.Column("id", sa.Integer, primary_key=True),
                         sa.Column("n", sa.BigInteger, nullable=False))


def create() -> Flask:
    app = Flask(__name__)
    engine = sa.create_engine(os.environ["DATABASE_URL"])
    configure_engine(engine)

    @app.get("/hello")
    def hello():
        return jsonify(hello="world")

    @app.post("/tx")
    def transaction():
        counter_id = random.randrange(COUNTERS)
        with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection, connection.begin():
            connection.execute(ROWS.insert().values(counter_id=counter_id, payload="purchase 1250 USD"))
            connection.execute(COUNTER_TABLE.update().where(COUNTER_TABLE.c.id == counter_id)
                               .values(n=COUNTER_TABLE.c.n + 1))
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
