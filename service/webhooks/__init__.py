"""Webhooks (Standard Webhooks): endpoints admins register, one signed message per event.

``models`` (endpoints, messages, attempts), ``signing`` (secrets and ``webhook-signature``),
``endpoints`` (create, change, rotate: what the API calls), ``delivery`` (the dispatch-table
consumer and the outbound handler). Requests go through ``service.outbound`` like WebSub's.
"""
