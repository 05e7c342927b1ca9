"""Sending: SMTP from ``SMTP_URL``, or ``.eml`` files under ``<var>/outbox/`` without one.

A transport is opened once per batch and sends message after message on one connection. Each
send tells the caller, in three exceptions, exactly what the server may have received:

- :class:`Deferred`: nothing was delivered (4xx, or the connection failed before the message
  data was complete); safe to send again later. ``connection`` says the connection is gone.
- :class:`Rejected`: a 5xx for this recipient; do not send again.
- :class:`Uncertain`: the whole message went out and no reply came (timeout, dropped
  connection); it may have been delivered, so it must never be resent automatically.

``before_data`` is called before the message data is sent (with PIPELINING, while the server
reads MAIL and RCPT: the two round trips overlap; a refusal that follows is raised as usual);
the delivery code commits its "sending" mark there, and may return False to skip the message
(another run owns it), which resets the SMTP transaction.

URL forms: ``smtp://host:25``, ``smtp://user:password@host:587/?starttls=1``,
``smtps://user:password@host:465``; ``?timeout=SECONDS`` (default 30).
"""

from __future__ import annotations

import email
import logging
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from service.mail.messages import POLICY

log = logging.getLogger(__name__)

BeforeData = Callable[[], bool]


def dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 4.5.2: a line of the data that starts with "." gets one more.

    ``bytes.replace`` does in one pass of C what a multiline ``^\\.`` regex did a position at
    a time: that regex cost a digest copy (~30 KB) 0.3 ms, most of a copy's own work.
    """
    stuffed = data.replace(b"\n.", b"\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


# Replies by which a relay says "too fast": 421 (closing), 451 (local error, how Postfix and
# Exim say "rate limited"), 454 (Amazon SES: "Throttling failure"). See ``throttle``.
SLOW_DOWN = frozenset({421, 451, 454})


class Deferred(Exception):
    """Nothing was delivered. ``slow_down``: the relay asked every sender to wait."""

    def __init__(self, reason: str, *, connection: bool = False,
                 slow_down: bool = False) -> None:
        self.connection = connection
        self.slow_down = slow_down
        super().__init__(reason)


class Rejected(Exception):
    pass


class Uncertain(Exception):
    pass


class Transport(Protocol):
    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def send(self, data: bytes, sender: str, recipient: str, *, eight_bit: bool = False,
             before_data: BeforeData | None = None) -> bool: ...


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    ssl: bool
    starttls: bool
    username: str | None
    password: str | None
    timeout: float

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"SMTP_URL must look like smtp://host:port, not {url!r}")
        query = parse_qs(parts.query)
        unknown = set(query) - {"starttls", "timeout"}
        if unknown:
            raise ValueError(f"SMTP_URL: unknown options {sorted(unknown)}")
        secure = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if secure else 25),
            ssl=secure,
            starttls=query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=float(query.get("timeout", ["30"])[0]),
        )


_PLAIN_ADDRESS = re.compile(r"[^\s<>()\[\],;:\\\"@]+@[^\s<>()\[\],;:\\\"@]+")


def _quote(address: str) -> str:
    """``<address>`` for SMTP; the common plain address skips smtplib's full parse."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(address)


def _classify(code: int, reply: bytes, what: str) -> Exception:
    message = f"{what}: {code} {reply.decode(errors='replace')}"
    if 500 <= code < 600:
        return Rejected(message)
    return Deferred(message, connection=code == 421,  # 421: the server is closing
                    slow_down=code in SLOW_DOWN)


def to_seven_bit(data: bytes) -> bytes:
    """Re-encode 8bit text parts as quoted-printable, for a server without 8BITMIME."""
    msg = email.message_from_bytes(data, policy=POLICY.clone(refold_source="none"))
    for part in msg.walk():
        if part.get_content_maintype() == "text" and part["Content-Transfer-Encoding"] == "8bit":
            del part["Content-Transfer-Encoding"]
            part.set_payload(part.get_payload(decode=True), charset="utf-8")
    return msg.as_bytes()


class SmtpTransport:
    """One SMTP connection, opened on the first send and reused until closed."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = ssl.create_default_context() if s.ssl or s.starttls else None
        try:
            if s.ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                      context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise Deferred(f"SMTP login refused: {exc}", connection=True) from exc
        except smtplib.SMTPResponseException as exc:  # e.g. a 421 greeting: busy, slow down
            said = exc.smtp_error
            text = said.decode(errors="replace") if isinstance(said, bytes) else said
            raise Deferred(f"{s.host}:{s.port} refused the connection: {exc.smtp_code} {text}",
                           connection=True,
                           slow_down=exc.smtp_code in SLOW_DOWN) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise Deferred(f"cannot connect to {s.host}:{s.port}: {exc}", connection=True) from exc
        return smtp

    def _drop(self, reason: str, exc: BaseException, *, uncertain: bool = False) -> Exception:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None
        if uncertain:
            return Uncertain(f"{reason}: {exc!r}")
        return Deferred(f"{reason}: {exc!r}", connection=True)

    def send(self, data: bytes, sender: str, recipient: str, *, eight_bit: bool = False,
             before_data: BeforeData | None = None) -> bool:
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        options = []
        if eight_bit:
            if smtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            else:
                data = to_seven_bit(data)
        ours = True
        try:
            if smtp.has_extn("pipelining"):  # RFC 2920: MAIL and RCPT in one round trip
                mail = " ".join([f"MAIL FROM:{_quote(sender)}", *options])
                smtp.send(f"{mail}\r\nRCPT TO:{_quote(recipient)}\r\n")
                # While the server reads them, the caller commits its mark: the two waits
                # overlap. Nothing can be delivered before DATA, which comes after both.
                ours = before_data() if before_data is not None else True
                (code, reply), (rcpt_code, rcpt_reply) = smtp.getreply(), smtp.getreply()
            else:
                code, reply = smtp.mail(sender, options)
                rcpt_code, rcpt_reply = smtp.rcpt(recipient) if code == 250 else (0, b"")
            if code != 250:
                raise self._refused(code, reply, "MAIL FROM")
            if rcpt_code not in (250, 251):
                raise self._refused(rcpt_code, rcpt_reply, f"RCPT TO {recipient}")
        except (smtplib.SMTPException, OSError) as exc:
            raise self._drop("connection lost before the data", exc) from exc
        if not smtp.has_extn("pipelining") and before_data is not None:
            ours = before_data()
        if not ours:
            self._reset()
            return False
        try:
            code, reply = smtp.docmd("DATA")
        except (smtplib.SMTPException, OSError) as exc:
            raise self._drop("connection lost at DATA", exc) from exc
        if code != 354:
            raise self._refused(code, reply, "DATA")
        payload = dot_stuffed(data)
        if not payload.endswith(b"\r\n"):
            payload += b"\r\n"
        try:
            smtp.send(payload + b".\r\n")
        except (smtplib.SMTPException, OSError) as exc:
            # The final "." never left us, so the server cannot have accepted the message.
            raise self._drop("connection lost while sending the data", exc) from exc
        try:
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            raise self._drop("no reply after the data", exc, uncertain=True) from exc
        if code != 250:
            if code == 421:
                self._drop_quietly()
            raise _classify(code, reply, "end of DATA")
        return True

    def _drop_quietly(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
        self._smtp = None

    def _refused(self, code: int, reply: bytes, what: str) -> Exception:
        """The exception for a refusal, the transaction reset (a 421 server is closing: the
        connection is dropped instead, and the refusal kept)."""
        if code == 421:
            self._drop_quietly()
        else:
            self._reset()
        return _classify(code, reply, what)

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (smtplib.SMTPException, OSError) as exc:
            raise self._drop("connection lost at RSET", exc) from exc


class FileTransport:
    """The development default: each message becomes ``<directory>/<time>-<n>.eml``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> Self:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def send(self, data: bytes, sender: str, recipient: str, *, eight_bit: bool = False,
             before_data: BeforeData | None = None) -> bool:
        if before_data is not None and not before_data():
            return False
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        prefix = f"{stamp}-{recipient.split('@')[0][:20]}-"
        safe_prefix = re.sub(r"[^A-Za-z0-9_.+-]", "_", prefix)
        fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=self.directory)
        with os.fdopen(fd, "wb") as out:
            out.write(f"X-Envelope-From: {sender}\r\nX-Envelope-To: {recipient}\r\n".encode())
            out.write(data)
        final = self.directory / (safe_prefix + Path(tmp).stem.lstrip(".") + ".eml")
        os.replace(tmp, final)  # readers never see half a file
        return True


def outbox_dir() -> Path:
    var_dir: Path = current_app.config["SETTINGS"].var_dir
    return var_dir / "outbox"


def smtp_url() -> str | None:
    """``SMTP_URL`` from the settings; ``app.config["SMTP_URL"]`` overrides it (tests do)."""
    url: str | None = current_app.config.get("SMTP_URL", current_app.config["SETTINGS"].smtp_url)
    return url


def open_transport() -> SmtpTransport | FileTransport:
    url = smtp_url()
    if url:
        return SmtpTransport(SmtpSettings.from_url(url))
    return FileTransport(outbox_dir())
