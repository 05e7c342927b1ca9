"""Outgoing email: building messages from templates (``messages``) and sending them (``mailer``)."""
