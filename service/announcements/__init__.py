"""Announcements: the model, rendering of their Markdown, and the publishing workflow."""
