"""``/healthz``: the process lives. ``/readyz``: the database and Redis answer (else 503)."""

from __future__ import annotations

import redis
import sqlalchemy as sa
from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from service.database import db
from service.extensions import get_redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    failing = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        failing["database"] = type(exc).__name__
    finally:
        db.session.rollback()
    try:
        get_redis().ping()
    except (redis.RedisError, OSError) as exc:
        failing["redis"] = type(exc).__name__
    if failing:
        return jsonify(status="unavailable", failing=failing), 503
    return jsonify(status="ready"), 200
