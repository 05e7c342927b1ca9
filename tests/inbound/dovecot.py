"""A Dovecot IMAP server of the test's own: Debian's ``dovecot-imapd`` on a free loopback port,
with a throwaway config, passdb and Maildir store in a temporary directory (never the system
service). Skipped, saying why, where Dovecot is not installed (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.waiting import wait_for

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "bounces", "mailbox-secret"

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
mail_location = maildir:{root}/mail/%u
mail_plugins =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class Dovecot:
    """One running server; :meth:`client` logs in as the bounce mailbox's user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        # Dovecot refuses mail access as root: as root, the mailbox belongs to "nobody".
        account = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        self.uid, self.gid = account.pw_uid, account.pw_gid
        self.config = root / "dovecot.conf"
        self.config.write_text(_CONFIG.format(
            root=root, port=self.port, uid=self.uid, gid=self.gid, user=account.pw_name,
            group=_group_name(self.gid)))
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        for sub in ("run", "state", "mail", "home"):
            (root / sub).mkdir()
        for path in (root, root / "mail", root / "home", root / "state"):
            os.chown(path, self.uid, self.gid)

    @property
    def url(self) -> str:
        return f"imap://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX?timeout=10"

    def start(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.config)], check=True, timeout=30)
        wait_for(self._answers, timeout=20, interval=0.2)

    def _answers(self) -> bool:
        try:
            with self.client():
                return True
        except (OSError, Exception):  # noqa: BLE001 (still starting)
            return False

    def stop(self) -> None:
        subprocess.run([DOVECOT, "-c", str(self.config), "stop"], check=False, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        with self.client() as client:
            for message in messages:
                client.append(folder, message)

    def flags(self, folder: str = "INBOX") -> dict[int, set[bytes]]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return {uid: set(data[b"FLAGS"])
                    for uid, data in client.fetch(client.search(["ALL"]), ["FLAGS"]).items()}

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _group_name(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    if not os.path.exists(DOVECOT):
        pytest.skip("Dovecot is not installed (apt-get install dovecot-imapd): the IMAP tests "
                    "need a real server")
    root = Path(tempfile.mkdtemp(prefix="newsroom-dovecot-"))
    os.chmod(root, 0o755)  # noqa: S103 (the unprivileged mail user walks into it)
    server = Dovecot(root)
    try:
        server.start()
    except (subprocess.SubprocessError, TimeoutError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"Dovecot did not start: {exc}\n{server.log()}")
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)
