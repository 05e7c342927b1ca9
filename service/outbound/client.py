"""The HTTP client for outbound requests: httpx, with the guard at the socket.

``httpx`` resolves names inside its network backend (httpcore's ``connect_tcp``); the
:class:`GuardedBackend` takes that step over: it resolves once, checks every address
(``guard``), and connects to a checked address itself. TLS still gets the URL's host for SNI
and certificate checks, and the ``Host`` header is the URL's, because httpcore takes both from
the request, not from the socket. Redirects are off (a 3xx to http://127.0.0.1 would be an
SSRF by the back door, and a callback that moved is the subscriber's to fix); proxies from the
environment are ignored (a proxy would connect for us, past the guard).
"""

from __future__ import annotations

import atexit
import functools
import os
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx
from httpcore._backends.sync import SyncStream

from service.outbound.guard import RefusedAddress, Resolver, checked_addresses, system_resolver

USER_AGENT = "Newsroom-Outbound/1 (+WebSub hub)"
MAX_RESPONSE_BYTES = 64 * 1024  # we read status and a short body (a challenge), never more


# httpcore's own (private) alias for what socket options may be, spelled out.
SocketOption = (tuple[int, int, int] | tuple[int, int, bytes | bytearray]
                | tuple[int, int, None, int])


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend, connecting only to addresses the guard allowed."""

    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self._tls = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[SocketOption] | None = None,
                    ) -> httpcore.NetworkStream:
        try:
            addresses = checked_addresses(host, port, allow_private=self.allow_private,
                                          resolver=self.resolver)
        except RefusedAddress:
            raise
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        last: OSError | None = None
        for address in addresses:
            try:
                sock = socket.create_connection((address, port), timeout)
            except TimeoutError as exc:
                raise httpcore.ConnectTimeout(str(exc)) from exc
            except OSError as exc:
                last = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return SyncStream(sock)
        raise httpcore.ConnectError(f"cannot connect to {host}:{port}: {last}")

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[SocketOption] | None = None,
                            ) -> httpcore.NetworkStream:
        raise RefusedAddress("outbound requests never use Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._tls.sleep(seconds)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """One verifying TLS context per process, shared by every client.

    Building one loads the whole CA bundle (about 50 ms of CPU here), and a client is made
    per delivery: two contexts per client capped a worker at ~10 deliveries a second
    (bench/websub.py). An ``SSLContext`` is safe to share between threads; a changed CA
    bundle is picked up when the worker restarts.
    """
    return httpx.create_ssl_context(trust_env=False)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connection pool uses :class:`GuardedBackend`.

    httpx offers no public hook for the network backend, so the pool it built is replaced by
    an identical one with ours (httpx 0.27-0.28 keep it in ``_pool``; pinned in pyproject).
    """

    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver,
                 max_connections: int = 100, max_keepalive: int = 20) -> None:
        super().__init__(verify=ssl_context(), trust_env=False, retries=0)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context(),
            max_connections=max_connections, max_keepalive_connections=max_keepalive,
            keepalive_expiry=5.0, retries=0,
            network_backend=GuardedBackend(allow_private=allow_private, resolver=resolver),
        )


def make_client(*, timeout: float, allow_private: bool,
                resolver: Resolver = system_resolver, max_keepalive: int = 20) -> httpx.Client:
    """A client for someone else's server: guarded, no redirects, no proxies, ``timeout``
    seconds for each of connect, write, read and pool."""
    return httpx.Client(
        transport=GuardedTransport(allow_private=allow_private, resolver=resolver,
                                   max_keepalive=max_keepalive),
        timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
        headers={"User-Agent": USER_AGENT},
    )


_shared: dict[tuple[int, float, bool], httpx.Client] = {}
_shared_lock = threading.Lock()


def shared_client(*, timeout: float, allow_private: bool) -> httpx.Client:
    """The process's one client for deliveries (per setting, per process: never inherited
    across a fork), shared by every batch and thread, as ``httpx.Client`` allows.

    A client per batch opened a connection per request thread per batch, and each new
    connection costs both ends a handshake (and the receiver a thread, for a threaded
    server): about twice the CPU per delivery of one long-lived client (bench/websub.py).
    Kept-alive connections were made to guarded addresses, so reusing one is no way past the
    guard; they expire after 5 s idle.
    """
    key = (os.getpid(), float(timeout), allow_private)
    with _shared_lock:
        if (client := _shared.get(key)) is None:
            client = _shared[key] = make_client(timeout=timeout, allow_private=allow_private,
                                                max_keepalive=100)
        return client


@atexit.register
def _close_shared() -> None:
    for client in _shared.values():
        client.close()


@dataclass(frozen=True)
class Answer:
    """What came back: a status and the first bytes of the body (enough for a challenge)."""

    status: int
    body: bytes


def request(client: httpx.Client, method: str, url: str, *, content: bytes | None = None,
            headers: dict[str, str] | None = None) -> Answer:
    """One request; reads at most ``MAX_RESPONSE_BYTES`` of the answer. Raises
    ``httpx.HTTPError`` (timeouts, refused connections) or :class:`RefusedAddress`."""
    with client.stream(method, url, content=content, headers=headers) as response:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= MAX_RESPONSE_BYTES:
                break
        return Answer(response.status_code, body[:MAX_RESPONSE_BYTES])
