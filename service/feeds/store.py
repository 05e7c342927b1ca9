"""Built feeds in Redis: one hash per feed, read with a single round trip on the request path.

Each hash holds the document, its content type, a strong ``ETag`` (a hash of the bytes) and a
``Last-Modified`` that only moves when the bytes change, so ``If-Modified-Since`` stays truthful
even when a retraction makes the newest remaining item older. With ``FEED_EXPORT_DIR`` set, every
document is also written there as a file (atomically) for the front server to serve directly.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import cast

import redis
from isal import igzip

from service.feeds import scopes

PREFIX = "newsroom:feed:"
BUILT_INDEX = "newsroom:feeds:built"  # sorted set: "scope fmt" -> unix time of the last build


@dataclass(frozen=True, slots=True)
class StoredFeed:
    body: bytes
    content_type: str
    etag: str  # quoted, strong
    last_modified: str  # an HTTP-date
    last_modified_ts: int
    link: str = ""  # the WebSub Link header (rel="hub", rel="self"); empty before it existed


def key(scope: str, fmt: str) -> str:
    return f"{PREFIX}{scope}:{fmt}"


def get(conn: redis.Redis, scope: str, fmt: str) -> StoredFeed | None:
    # redis-py types every reply as "Awaitable | Any" (sync and async clients share the
    # signatures); a sync client without decode_responses gives bytes.
    fields = cast(dict[bytes, bytes], conn.hgetall(key(scope, fmt)))
    if not fields:
        return None
    return StoredFeed(
        body=fields[b"body"],
        content_type=fields[b"ctype"].decode(),
        etag=fields[b"etag"].decode(),
        last_modified=fields[b"lm"].decode(),
        last_modified_ts=int(fields[b"lmts"]),
        link=fields.get(b"link", b"").decode(),
    )


Version = tuple[bytes | None, bytes | None, bytes | None]  # stored etag, lmts, link
_VERSION_FIELDS = ("etag", "lmts", "link")


def versions(conn: redis.Redis, scope: str, fmts: Iterable[str]) -> dict[str, Version]:
    """What is stored now for several formats of one document, in one round trip, for
    :func:`put`'s ``current`` (a build stores three formats one after another)."""
    wanted = list(fmts)
    pipe = conn.pipeline(transaction=False)
    for fmt in wanted:
        pipe.hmget(key(scope, fmt), list(_VERSION_FIELDS))
    replies = cast(list[list[bytes | None]], pipe.execute())  # a sync client's replies
    return {fmt: (reply[0], reply[1], reply[2]) for fmt, reply in zip(wanted, replies,
                                                                       strict=True)}


def put(
    conn: redis.Redis, scope: str, fmt: str, body: bytes, content_type: str,
    export_dir: Path | None = None, link: str = "", current: Version | None = None,
) -> bool:
    """Store one built document; returns True when its bytes changed.

    Callers hold the scope's build lock, so the read-compare-write here does not race;
    ``current`` is what :func:`versions` read under that lock (None: read it here).
    """
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    now = time.time()
    if current is None:
        current = versions(conn, scope, (fmt,))[fmt]
    current_etag, current_ts, current_link = current
    if current_etag is not None and current_ts is not None and current_etag.decode() == etag:
        changed = False
        modified = int(current_ts)
    else:
        changed = True
        # HTTP dates count whole seconds: two changes within one second must still differ,
        # or a client revalidating with If-Modified-Since alone would keep the older copy.
        modified = max(int(now), int(current_ts) + 1 if current_ts else 0)
    pipe = conn.pipeline(transaction=True)
    if changed:
        pipe.hset(key(scope, fmt), mapping={
            "body": body, "ctype": content_type, "etag": etag,
            "lm": formatdate(modified, usegmt=True), "lmts": modified,
        })
    if link and (changed or current_link is None or current_link.decode() != link):
        pipe.hset(key(scope, fmt), "link", link)
    if scopes.split_page(scope)[1] is None:  # archive pages stay off the dashboard's list
        pipe.zadd(BUILT_INDEX, {f"{scope} {fmt}": now})
    pipe.execute()
    if export_dir is not None:
        target = export_dir / export_path(scope, fmt)
        if changed or _exported_at(target) != modified or not _twin(target).exists():
            # Also when the bytes are unchanged: another process (one with no export
            # directory, or whose write failed) may have stored this version first.
            export(target, body, modified)
    return changed


def remove(conn: redis.Redis, scope: str, fmt: str, export_dir: Path | None = None) -> None:
    """Forget a feed that must not exist (an unknown or not yet public tag or partner): its
    hash, its build time and, with an export directory, its files, so the front server
    passes the request on to the app, which answers 404."""
    pipe = conn.pipeline(transaction=True)
    pipe.delete(key(scope, fmt))
    pipe.zrem(BUILT_INDEX, f"{scope} {fmt}")
    pipe.execute()
    if export_dir is not None:
        target = export_dir / export_path(scope, fmt)
        target.unlink(missing_ok=True)
        _twin(target).unlink(missing_ok=True)


def _exported_at(target: Path) -> int | None:
    """The Last-Modified an exported file stands for (its mtime), None when there is none."""
    try:
        return int(target.stat().st_mtime)
    except FileNotFoundError:
        return None


def export_path(scope: str, fmt: str) -> str:
    """Where a feed's file lives under ``FEED_EXPORT_DIR``: its URL path (``feeds/...``), so
    the directory is the front server's document root and no URL has to be rewritten."""
    return scopes.path(scope, fmt)


def _twin(target: Path) -> Path:
    return target.with_name(target.name + ".gz")


# The twins are compressed with ISA-L (python-isal), not zlib: a publish writes a dozen
# documents, and zlib's level 6 was a fifth of a worker's CPU per publish. On a 94 KB Atom
# feed ISA-L's best level took 0.33 ms against zlib's 1.98 ms, for a twin 9% larger (0.137 of
# the plain file against 0.126); any gzip reader takes it.
GZIP_LEVEL = 3


def export(target: Path, body: bytes, modified: int) -> None:
    """Write the file the front server serves, and its gzip twin for ``gzip_static``.

    The files' mtime is the feed's Last-Modified: nginx derives its ETag from mtime and size,
    so a change within the same second still gets a new ETag, and both tiers agree on dates.
    The old twin goes first and the new one comes last, so no client is ever served a gzip
    older than the plain file, and compressing is not on the path to readers seeing the
    change: in between, nginx finds no twin and compresses the plain file on the fly.
    """
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    twin = _twin(target)
    twin.unlink(missing_ok=True)
    _replace(target, body, modified)
    _replace(twin, igzip.compress(body, compresslevel=GZIP_LEVEL, mtime=modified), modified)


def _replace(target: Path, body: bytes, modified: int) -> None:
    """Replace the file atomically: a reader sees the old bytes or the new, never half."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            out.flush()
            os.fchmod(fd, 0o644)  # the front server runs as another user
            os.utime(fd, (modified, modified))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def built_times(conn: redis.Redis) -> dict[str, float]:
    """When each feed was last built ("scope fmt" -> unix time), for the dashboard."""
    built = cast(  # a sync client's reply (see get)
        list[tuple[bytes, float]], conn.zrange(BUILT_INDEX, 0, -1, withscores=True)
    )
    return {member.decode(): score for member, score in built}
