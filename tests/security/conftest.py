"""The editor fixtures, for tests that sign in across areas."""

from tests.editor.conftest import signed_in  # noqa: F401 (a fixture)
