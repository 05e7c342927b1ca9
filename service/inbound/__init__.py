"""Inbound mail: bounces, complaints and unsubscribe requests that arrive after sending.

Two ways in feed one classifier: beat's ``inbound.read_mailbox`` reads the bounce mailbox over
IMAP (``mailbox``), and ``flask --app service inbound serve`` takes mail from a local MTA over
LMTP or SMTP (``listener``). Every message is recorded once (``receiving``), classified
(``classifying``: flufl.bounce for DSNs, ``complaints`` for RFC 5965 reports, the
List-Unsubscribe mailto) and acted on in the same transaction (``processing``); what is not
recognised stays in ``inbound_messages`` for an operator (``flask --app service inbound list``).
"""
