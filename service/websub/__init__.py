"""A W3C WebSub hub for our own feeds: subscriptions, verification of intent, distribution.

``views`` (the hub endpoint) validates, records and queues; ``verification`` and
``distribution`` run in workers (``workers/push.py``) and reach callbacks only through
``service.outbound``. Topics are the feeds' absolute URLs (``topics``).
"""
