"""The SMTP transport against a real server: what each failure tells the caller."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
from flask import Flask

from service.mail.mailer import Deferred, FileTransport, Rejected, Uncertain
from service.mail.smtp import SmtpSettings, SmtpTransport, dot_stuffed
from tests.mail.smtp import SmtpServer
from tests.waiting import wait_for

MESSAGE = (b"From: news@agency.example\r\nTo: a@example.org\r\nSubject: hi\r\n\r\n"
           b"line one\r\n.leading dot\r\n")


def _transport(server: SmtpServer, timeout: float = 5) -> SmtpTransport:
    return SmtpTransport(SmtpSettings.from_url(f"smtp://127.0.0.1:{server.port}/?timeout={timeout}"))


@pytest.fixture
def server() -> SmtpServer:
    server = SmtpServer()
    server.start()
    yield server  # type: ignore[misc]
    server.stop()


def test_url_forms() -> None:
    plain = SmtpSettings.from_url("smtp://mail.example.org")
    assert (plain.host, plain.port, plain.ssl, plain.starttls, plain.username) == (
        "mail.example.org", 25, False, False, None)
    tls = SmtpSettings.from_url("smtp://user%40x:p%3Ass@mail.example.org:587/?starttls=1")
    assert (tls.port, tls.starttls, tls.username, tls.password) == (587, True, "user@x", "p:ss")
    implicit = SmtpSettings.from_url("smtps://u:p@mail.example.org?timeout=3")
    assert (implicit.port, implicit.ssl, implicit.timeout) == (465, True, 3.0)
    with pytest.raises(ValueError, match="unknown options"):
        SmtpSettings.from_url("smtp://mail.example.org/?tls=1")


@pytest.mark.parametrize("data, stuffed", [
    (b"no dots at all\r\n", b"no dots at all\r\n"),
    (b".first\r\nmid.dle\r\n.\r\n..two\r\n", b"..first\r\nmid.dle\r\n..\r\n...two\r\n"),
    (b"a\n.b\r\n\r\n.", b"a\n..b\r\n\r\n.."),
    (b".", b".."),
    (b"", b""),
])
def test_dot_stuffing_doubles_a_dot_at_every_line_start(data: bytes, stuffed: bytes) -> None:
    assert dot_stuffed(data) == stuffed
    # what a server does: a line's leading dot removed gives back the data
    assert b"\n".join(line[1:] if line.startswith(b".") else line
                       for line in stuffed.split(b"\n")) == data


@pytest.mark.parametrize("pipelining", [False, True])
def test_sends_many_on_one_connection_with_dot_stuffing(server: SmtpServer,
                                                        pipelining: bool) -> None:
    server.handler.pipelining = pipelining
    with _transport(server) as transport:
        for n in range(3):
            assert transport.send(MESSAGE, "news@agency.example", f"r{n}@example.org")
        assert transport._smtp is not None
        assert transport._smtp.has_extn("pipelining") is pipelining
    assert [r.recipients for r in server.received] == [[f"r{n}@example.org"] for n in range(3)]
    body = email.message_from_bytes(server.received[0].data, policy=email.policy.default)
    assert body.get_content().replace("\r\n", "\n") == "line one\n.leading dot\n"


@pytest.mark.parametrize("pipelining", [False, True])
def test_recipient_refused_for_good_then_the_connection_goes_on(server: SmtpServer,
                                                                pipelining: bool) -> None:
    server.handler.pipelining = pipelining
    server.handler.rcpt_replies["gone@example.org"] = "550 5.1.1 no such user"
    server.handler.rcpt_replies["full@example.org"] = "452 4.2.2 mailbox full"
    with _transport(server) as transport:
        with pytest.raises(Rejected, match="550"):
            transport.send(MESSAGE, "news@agency.example", "gone@example.org")
        with pytest.raises(Deferred, match="452") as deferred:
            transport.send(MESSAGE, "news@agency.example", "full@example.org")
        assert not deferred.value.connection
        assert transport.send(MESSAGE, "news@agency.example", "ok@example.org")
    assert [r.recipients for r in server.received] == [["ok@example.org"]]


@pytest.mark.parametrize("reply", ["421 4.7.0 slow down", "452 4.3.1 out of space"])
def test_a_refused_mail_from_in_a_pipelined_group(server: SmtpServer, reply: str) -> None:
    """MAIL refused: RCPT and DATA are refused after it (none is read after a 421, when the
    server is closing); nothing is delivered and the refusal is what the caller gets."""
    server.handler.pipelining = True
    server.handler.refuse_mail_after, server.handler.mail_refusal = 1, reply
    with _transport(server) as transport:
        assert transport.send(MESSAGE, "news@agency.example", "a@example.org")
        with pytest.raises(Deferred, match=reply[:3]) as caught:
            transport.send(MESSAGE, "news@agency.example", "b@example.org")
        assert caught.value.slow_down is reply.startswith("421")
        assert caught.value.connection is reply.startswith("421")
        server.handler.refuse_mail_after = None
        assert transport.send(MESSAGE, "news@agency.example", "c@example.org")
    assert [r.recipients for r in server.received] == [["a@example.org"], ["c@example.org"]]


def test_server_down_is_deferred(server: SmtpServer) -> None:
    server.stop()
    with _transport(server) as transport, pytest.raises(Deferred) as caught:
        transport.send(MESSAGE, "news@agency.example", "a@example.org")
    assert caught.value.connection


@pytest.mark.parametrize("pipelining", [False, True])
def test_connection_dropped_before_the_data_is_deferred(server: SmtpServer,
                                                        pipelining: bool) -> None:
    server.handler.pipelining = pipelining
    server.handler.drop_mail_after = 1
    with _transport(server) as transport:
        assert transport.send(MESSAGE, "news@agency.example", "a@example.org")
        with pytest.raises(Deferred) as caught:
            transport.send(MESSAGE, "news@agency.example", "b@example.org")
    assert caught.value.connection
    assert len(server.received) == 1


def test_no_reply_after_the_data_is_uncertain(server: SmtpServer) -> None:
    server.handler.data_delay["slow@example.org"] = 1.5
    with _transport(server, timeout=0.5) as transport, pytest.raises(Uncertain):
        transport.send(MESSAGE, "news@agency.example", "slow@example.org")
    # The server did get the message: it just answered too late.
    received = wait_for(lambda: server.received, timeout=5)
    assert [r.recipients for r in received] == [["slow@example.org"]]


@pytest.mark.parametrize("pipelining", [False, True])
def test_before_data_can_skip_a_message(server: SmtpServer, pipelining: bool) -> None:
    """Skipped after the server took the pipelined DATA: the connection is closed, nothing is
    delivered, and the next message goes on a new connection."""
    server.handler.pipelining = pipelining
    calls = []
    with _transport(server) as transport:
        assert not transport.send(MESSAGE, "news@agency.example", "a@example.org",
                                  before_data=lambda: calls.append(1) is not None)
        assert transport.send(MESSAGE, "news@agency.example", "b@example.org",
                              before_data=lambda: True)
    assert calls == [1]
    assert [r.recipients for r in server.received] == [["b@example.org"]]


def test_file_transport_writes_whole_eml_files(ctx: Flask, tmp_path: Path) -> None:
    with FileTransport(tmp_path / "outbox") as transport:
        assert transport.send(MESSAGE, "news@agency.example", "a@example.org")
    files = list((tmp_path / "outbox").iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml"
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["X-Envelope-To"] == "a@example.org" and msg["Subject"] == "hi"
