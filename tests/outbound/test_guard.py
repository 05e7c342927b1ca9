"""The SSRF guard refuses loopback, private, link-local and multicast destinations, judged on
the address actually connected to. Only 127.0.0.1 ever receives traffic here: every other
address is refused before a socket is opened, which is what these tests prove."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from service.outbound.client import make_client, request
from service.outbound.guard import RefusedAddress, checked_addresses, forbidden
from tests.outbound.receiver import Receiver


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.9", "private"),
    ("192.168.1.1", "private"), ("fd00::1", "private"), ("100.64.0.1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"), ("0.0.0.0", "unspecified"),  # noqa: S104 (no bind)
])
def test_forbidden_addresses(address: str, reason: str) -> None:
    assert forbidden(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert forbidden(ipaddress.ip_address(address)) is None  # classified only, never contacted


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/callback", "http://[::1]:{port}/callback",
    "http://localhost:{port}/callback",  # a name that resolves to loopback
    "http://10.0.0.1:{port}/", "http://169.254.169.254/latest/meta-data/",
    "http://224.0.0.1:{port}/", "http://[::ffff:127.0.0.1]:{port}/",
])
def test_refused_before_any_traffic(receiver: Receiver, url: str) -> None:
    with make_client(timeout=2, allow_private=False) as client, \
            pytest.raises(RefusedAddress):
        request(client, "POST", url.format(port=receiver.port), content=b"x")
    assert receiver.received == []


def test_one_private_answer_refuses_the_name() -> None:
    def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    with pytest.raises(RefusedAddress, match="127.0.0.1"):
        checked_addresses("mixed.test", 80, allow_private=False, resolver=mixed)


def test_connects_to_the_address_it_checked(receiver: Receiver) -> None:
    """Resolution happens once, inside the connection: the socket goes to the very address
    the guard saw, and Host stays the URL's. A rebinding name has no second lookup to win."""
    lookups: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    url = f"http://rebind.test:{receiver.port}/callback"
    with make_client(timeout=2, allow_private=False, resolver=rebinding) as client, \
            pytest.raises(RefusedAddress):
        request(client, "POST", url, content=b"x")
    assert receiver.received == [] and lookups == ["rebind.test"]

    with make_client(timeout=2, allow_private=True, resolver=rebinding) as client:
        answer = request(client, "POST", url, content=b"hello")
    assert answer.status == 200
    assert receiver.posts()[0].headers["host"] == f"rebind.test:{receiver.port}"
    assert lookups == ["rebind.test", "rebind.test"]  # one lookup per connection


def test_redirects_are_not_followed(receiver: Receiver) -> None:
    other = Receiver().start()
    try:
        receiver.behaviour.default = 302
        receiver.behaviour.location = other.url("/elsewhere")
        with make_client(timeout=2, allow_private=True) as client:
            assert request(client, "POST", receiver.url(), content=b"x").status == 302
        assert other.received == []
    finally:
        other.stop()


def test_environment_proxies_are_ignored(receiver: Receiver,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # would refuse the connection
    with make_client(timeout=2, allow_private=True) as client:
        assert request(client, "POST", receiver.url(), content=b"x").status == 200


def test_timeouts_raise(receiver: Receiver) -> None:
    receiver.behaviour.delay = 2
    with make_client(timeout=1, allow_private=True) as client, \
            pytest.raises(httpx.TimeoutException):
        request(client, "POST", receiver.url(), content=b"x")
