"""The Alembic migrations own the schema: after ``upgrade`` the database matches the models
exactly, so a model change without its migration fails here rather than in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from service.database import db
from service.search.schema import include_name


def test_migrations_match_the_models(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                           "include_name": include_name})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
