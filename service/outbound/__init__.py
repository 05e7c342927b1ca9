"""Outbound HTTP: every request to a URL someone else gave us (WebSub callbacks, webhooks).

One place owns timeouts, retries, the SSRF guard and the per-destination cap, so a second
caller (webhooks) reuses them instead of copying the loop: ``guard`` (which addresses may be
reached), ``client`` (httpx, connecting only to checked addresses), ``limits`` (the cap, in
Redis), ``models`` and ``delivery`` (durable rows, claimed with a lease, retried with backoff).
"""
