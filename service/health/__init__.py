"""Liveness and readiness probes for orchestrators and the front server."""
