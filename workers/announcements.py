"""Announcement tasks: publish scheduled announcements whose embargo has passed."""

from __future__ import annotations

from celery import shared_task

from service.announcements import publishing


@shared_task(name="announcements.publish_due")
def publish_due_announcements() -> int:
    return publishing.publish_due()
