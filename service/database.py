"""The SQLAlchemy handle, the declarative base, and the column types every model shares."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

# Constraint names that are the same on SQLite and PostgreSQL, so Alembic can alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)

if TYPE_CHECKING:
    from flask_sqlalchemy.model import Model as _FlaskModel

    class Model(_FlaskModel, Base):
        """What ``db.Model`` is at run time: Base with Flask-SQLAlchemy's model mixin.

        ``db.Model`` is an attribute built when ``db`` is, so a type checker cannot use it as a
        base class; models subclass this name instead.
        """

        __abstract__ = True
else:
    Model = db.Model


@sa.event.listens_for(sa.Engine, "connect")
def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """WAL lets the web read while a worker writes; foreign keys are off by default in SQLite."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


@sa.event.listens_for(sa.Engine, "connect")
def _postgres_sessions_in_utc(dbapi_connection: object, _record: object) -> None:
    """A PostgreSQL session in UTC, as Django sets its own: the models hold UTC times only.

    psycopg gives ``timestamptz`` values in the session's time zone; in a server's zone such as
    ``Etc/UTC`` that is a ``ZoneInfo``, and converting each to ``datetime.UTC`` for the models
    (``UTCDateTime``) cost about 20 µs, 0.13 s for a batch of 800 outbound rows (a cProfile of
    ``push.webhook``). In UTC psycopg gives ``timezone.utc`` itself and the conversion is none."""
    import psycopg

    if isinstance(dbapi_connection, psycopg.Connection):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a SET outside any transaction, kept
        dbapi_connection.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.autocommit = autocommit


# A pooled connection used this recently is handed out without a ping. SQLAlchemy's
# pool_pre_ping pings on every checkout, and a worker's task checks out several times (each
# commit or rollback returns the connection): on PostgreSQL that was a round trip per
# checkout, seven of about thirty in the dispatch of one publish.
PING_AFTER_IDLE = 5.0  # seconds


def ping_when_idle(engine: sa.Engine, idle: float = PING_AFTER_IDLE) -> None:
    """Check a pooled connection before handing it out only when it has been idle ``idle``
    seconds or more: one that idled (a server restart, a proxy's idle timeout) is replaced
    before anyone uses it, as with ``pool_pre_ping``. A connection returned moments ago is
    alive but for a server that went down in between; its first statement then fails,
    SQLAlchemy sees the disconnect and renews the whole pool, and that one request or
    task fails (a task is delivered again)."""
    dialect = engine.dialect

    def returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    def check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        at = record.info.get("returned_at")
        if at is None or time.monotonic() - at < idle:
            return  # new, or back in the pool a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise sa.exc.DisconnectionError(str(exc)) from exc  # the pool connects anew
            raise
        if not alive:
            raise sa.exc.DisconnectionError("the connection did not answer a ping")

    sa.event.listen(engine, "checkin", returned)
    sa.event.listen(engine, "checkout", check)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC: the only kind of datetime the models hold."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones and PostgreSQL's ``timestamptz`` returns the session's zone;
    normalising here means the rest of the code compares datetimes without surprises.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def among(column: sa.ColumnElement[Any] | InstrumentedAttribute[Any], name: str,
          dialect: str) -> sa.ColumnElement[bool]:
    """``column IN (<list bound as name>)``: on PostgreSQL ``= ANY(<one array parameter>)``.

    An expanding IN puts one parameter per value in the SQL, so a statement of 50 or 500 ids
    is a new query text each time, which psycopg parses anew (a tenth of a feed build's CPU);
    the array keeps the text the same. Bind a list under ``name`` when executing."""
    if dialect == "postgresql":
        array = postgresql.ARRAY(column.type)
        return column == sa.any_(sa.bindparam(name, type_=array))
    return column.in_(sa.bindparam(name, expanding=True))
