"""Celery entry point: ``celery -A workers worker`` and ``celery -A workers beat``.

Celery looks up ``workers.app``; it is created on first access (PEP 562), so importing a task
module in tests or tools never builds an app as a side effect.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        from service import create_app

        return create_app().extensions["celery"]
    raise AttributeError(name)
