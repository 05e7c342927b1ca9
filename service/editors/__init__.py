"""Editors, their roles and API tokens."""
