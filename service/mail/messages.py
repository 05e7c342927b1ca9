"""Emails from templates: ``templates/email/<kind>/{subject.txt,body.txt,body.html}``.

:func:`prepare` renders one email's templates once (Jinja, then css-inline for the HTML part)
and has the standard library's :class:`~email.message.EmailMessage` build and serialise its
structure. No value written by a user reaches that class: the Subject and From values are made
one line and RFC 2047-encoded by :mod:`service.mail.headers` (the email package would decode an
encoded word in a title into a CR/LF, and some interpreters write it out raw) and spliced into
the serialised header, so no user-written field (an announcement title, a display name) can add
a header or a body, whatever the interpreter's patch level. What differs per recipient (the
address, the Message-ID and the manage and unsubscribe links) is then spliced into those bytes
by :meth:`Template.personalise`, so a batch of hundreds of recipients renders, inlines and
encodes once; a digest costs one render per distinct set of items. Spliced values are checked
to be plain printable ASCII.

Body parts are 7bit when ASCII and 8bit otherwise (lines are kept under 998 bytes); the SMTP
transport re-encodes for the rare server without 8BITMIME (see ``mailer``).
"""

from __future__ import annotations

import email.policy
import re
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import css_inline
from flask import render_template

from service.mail import headers

POLICY = email.policy.SMTP  # the default policy (refuses CR/LF in headers) with CRLF line ends
MAX_LINE = 900  # bytes; SMTP allows 998, leaving room for the links spliced in
_SAFE = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces, no CR/LF
_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Links:
    manage: str
    unsubscribe: str  # the https one-click URL
    unsubscribe_mailto: str


def _fit_lines(text: str) -> str:
    """Break lines longer than :data:`MAX_LINE` bytes at spaces (both parts are reflowable)."""
    out = []
    for line in text.splitlines():
        while len(line.encode()) > MAX_LINE:
            cut = line.rfind(" ", 0, MAX_LINE // 4)  # characters are at most 4 bytes
            if cut <= 0:
                cut = MAX_LINE // 4
            out.append(line[:cut])
            line = line[cut:].lstrip(" ")
        out.append(line)
    return "\n".join(out) + "\n"


def render(name: str, /, **context: Any) -> Rendered:
    """Render one kind of email; the subject is one line whatever the context holds."""
    subject = " ".join(render_template(f"email/{name}/subject.txt", **context).split())
    text = render_template(f"email/{name}/body.txt", **context)
    html = _inliner.inline(render_template(f"email/{name}/body.html", **context))
    return Rendered(subject=subject, text=_fit_lines(text), html=_fit_lines(html))


def _cte(body: str) -> str:
    return "7bit" if body.isascii() else "8bit"


def sender_address(mail_from: str) -> str:
    """The envelope sender of ``MAIL_FROM`` (validated at start-up by the config)."""
    return headers.parse_mailbox(mail_from)[1]


class Template:
    """One email serialised once; :meth:`personalise` makes each recipient's copy."""

    def __init__(self, name: str, context: dict[str, Any], *, mail_from: str, domain: str,
                 list_unsubscribe: bool = True) -> None:
        marker = uuid.uuid4().hex  # unguessable, so no content can contain the markers
        self._manage = f"https://{marker}.invalid/manage"
        self._unsubscribe = f"https://{marker}.invalid/unsubscribe"
        self._to = f"{marker}@recipient.invalid"
        self._message_id = f"<{marker}@message-id.invalid>"
        self._list_unsubscribe = f"<{marker}@list-unsubscribe.invalid>"
        subject_marker, from_marker = f"{marker}-subject", f"{marker}@from.invalid"
        self.domain = domain
        self.rendered = render(name, manage_url=self._manage, unsubscribe_url=self._unsubscribe,
                               **context)
        msg = EmailMessage(policy=POLICY)
        msg["Subject"] = subject_marker
        msg["From"] = from_marker
        msg["To"] = self._to
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = self._message_id
        if list_unsubscribe:
            msg["List-Unsubscribe"] = self._list_unsubscribe
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg.set_content(self.rendered.text, cte=_cte(self.rendered.text))
        msg.add_alternative(self.rendered.html, subtype="html", cte=_cte(self.rendered.html))
        self.eight_bit = not (self.rendered.text.isascii() and self.rendered.html.isascii())
        data = msg.as_bytes()
        head, _, body = data.partition(b"\r\n\r\n")
        display_name, address = headers.parse_mailbox(mail_from)
        subject = headers.unstructured("Subject", self.rendered.subject)
        sender = headers.mailbox("From", display_name, address)
        self._head = (head.decode("ascii").replace(subject_marker, subject)
                      .replace(from_marker, sender) + "\r\n\r\n")
        self._body = body
        # The body cut at the link markers once: a copy is one join of its pieces, where two
        # replaces passed over the whole body (~30 KB for a digest) for every recipient.
        markers = (self._manage.encode(), self._unsubscribe.encode())
        self._pieces = re.split(b"(" + b"|".join(map(re.escape, markers)) + b")", body)

    def personalise(self, to: str, links: Links | None = None) -> tuple[str, bytes]:
        """``(message_id, message bytes)`` for one recipient."""
        message_id = make_msgid(domain=self.domain)
        values = [to, message_id] + ([links.manage, links.unsubscribe, links.unsubscribe_mailto]
                                     if links else [])
        for value in values:
            if not _SAFE.match(value):
                raise ValueError(f"not a header-safe value: {value!r}")
        head = self._head.replace(self._to, to).replace(self._message_id, message_id)
        if links is None:
            return message_id, head.encode("ascii") + self._body
        head = head.replace(self._list_unsubscribe,
                            f"<{links.unsubscribe}>,\r\n <{links.unsubscribe_mailto}>")
        link_for = {self._manage.encode(): links.manage.encode(),
                    self._unsubscribe.encode(): links.unsubscribe.encode()}
        pieces = self._pieces.copy()  # text at even places, a marker at odd ones
        pieces[1::2] = [link_for[marker] for marker in pieces[1::2]]
        return message_id, b"".join([head.encode("ascii"), *pieces])
