"""Header values from data (titles, display names), encoded here and never parsed.

The standard library's header classes *parse* the value they are given: an RFC 2047 encoded word
written into a title (``=?UTF-8?Q?x=0D=0AReply-To:...?=``) is decoded to a CR/LF, and some
interpreters (CPython before the CVE-2024-6923 fix, 3.11.7 among them) then write that CR/LF out
raw when they serialise, adding headers and a body of the writer's choosing. So user text never
reaches the email package: it is made one line of printable characters here, and whatever is not
plain ASCII, or merely looks like an encoded word, is encoded by this module as base64 encoded
words, which a reader decodes exactly once, back to the literal text. The result is ASCII with
folding only at the places this module puts it, on every interpreter.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from email.utils import formataddr

MAX_LINE = 78  # RFC 5322's recommended line length, folding included
_CHUNK = 45  # UTF-8 bytes per encoded word: base64 of 45 bytes is 60, the word 72 characters
_SPACES = re.compile(r"\s+")


def single_line(text: str) -> str:
    """``text`` as one line: any run of whitespace (CR, LF, tabs, Unicode line separators)
    becomes one space and other control or format characters that render nothing are dropped."""
    text = _SPACES.sub(" ", text)
    kept = (c for c in text if unicodedata.category(c) not in ("Cc", "Cs") and c != "\ufeff")
    return "".join(kept).strip()


def _plain(text: str) -> bool:
    return text.isascii() and text.isprintable() and "=?" not in text


def _encoded_words(text: str) -> list[str]:
    words, chunk = [], b""
    for char in text:
        data = char.encode()
        if len(chunk) + len(data) > _CHUNK:
            words.append(chunk)
            chunk = b""
        chunk += data
    if chunk:
        words.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words]


def _fold(name: str, words: list[str]) -> str:
    """Join ``words`` with spaces, breaking the line before a word that would pass MAX_LINE."""
    lines: list[str] = []
    line = ""
    used = len(name) + 2  # "Name: "
    for word in words:
        if line and used + len(line) + 1 + len(word) > MAX_LINE:
            lines.append(line)
            line, used = word, 1  # a folded line starts with one space
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def unstructured(name: str, text: str) -> str:
    """The value of header ``name`` (Subject and the like) showing ``text`` literally."""
    text = single_line(text)
    if _plain(text):
        return _fold(name, text.split(" ")) if text else ""
    # Encoded words are separated by folding white space, which readers drop between words.
    return _fold(name, _encoded_words(text))


def mailbox(name: str, display_name: str, address: str) -> str:
    """A From-style value ``Display Name <address>``; ``address`` must already be valid ASCII."""
    if not (address.isascii() and address.isprintable()) or " " in address or not address:
        raise ValueError(f"not a plain address: {address!r}")
    display_name = single_line(display_name)
    if not display_name:
        return address
    if _plain(display_name):
        return formataddr((display_name, address))  # quotes the name only when it must
    return _fold(name, [*_encoded_words(display_name), f"<{address}>"])


def parse_mailbox(value: str) -> tuple[str, str]:
    """``(display name, address)`` of one mailbox such as ``Newsroom <news@example.org>``.

    Raises ValueError for anything else: several addresses, no domain, a non-ASCII or empty
    address, control characters anywhere (before any decoding), defects the parser reports.
    """
    from email.policy import default

    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ValueError("control characters")
    try:
        header = default.header_factory("From", value)
        addresses = header.addresses
    except (ValueError, IndexError, TypeError, AttributeError) as exc:  # the parser's failures
        raise ValueError(str(exc)) from None
    if header.defects:
        raise ValueError("; ".join(str(defect) for defect in header.defects))
    if len(addresses) != 1:
        raise ValueError("not exactly one address")
    address = addresses[0]
    if not address.username or not address.domain or not address.addr_spec.isascii():
        raise ValueError("the address needs a local part and a domain, in ASCII")
    if any(unicodedata.category(c) == "Cc" for c in address.display_name):
        raise ValueError("control characters in the display name")
    return address.display_name, address.addr_spec
