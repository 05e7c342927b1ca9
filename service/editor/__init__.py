"""The editors' newsroom: sign-in, roles, writing, previewing, publishing, revisions."""
