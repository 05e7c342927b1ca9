"""API v1 (JSON over HTTP, bearer tokens, RFC 9457 errors)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
