"""What a send tells its caller: exactly what the server may have received.

- :class:`Deferred`: nothing was delivered (4xx, or the connection failed before the message
  data was complete); safe to send again later. ``connection`` says the connection is gone.
- :class:`Rejected`: a 5xx for this recipient; do not send again.
- :class:`Uncertain`: the whole message went out and no reply came (timeout, dropped
  connection); it may have been delivered, so it must never be resent automatically.

``before_data`` is called before the message data is sent; the delivery code commits its
"sending" mark there, and may return False to skip the message (another run owns it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, Self

BeforeData = Callable[[], bool]


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


def classify(code: int, reply: bytes, what: str) -> Exception:
    message = f"{what}: {code} {reply.decode(errors='replace')}"
    if 500 <= code < 600:
        return Rejected(message)
    return Deferred(message, connection=code == 421,  # 421: the server is closing
                    slow_down=code in SLOW_DOWN)
