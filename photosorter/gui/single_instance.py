"""One app per library: a second start shows the window that is already open.

Why: two windows on one library each keep their own copy of it in memory and save it whole, so
the last one to save wins — a tryout's category made in one window vanished when the other
deleted an example, without a word. A start at login (tray) while the app is open does the same.

How: an exclusive ``flock`` on ``instance.lock`` in the config folder says who holds the library
(the kernel drops it when a process dies, so a crash leaves nothing stale); the holder listens on
a local socket named after that folder, and a second start asks it there to show its window. A
start that gets the lock still asks on the socket, in case the lock file was deleted under a
running app; only deleting both lets a second window open.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # Windows: no flock; the socket alone decides (a race there is possible)
    fcntl = None  # type: ignore[assignment]


class SingleInstance:
    def __init__(self, config_dir: Path) -> None:
        self.config_dir = Path(config_dir)
        # The socket in the config folder, which only this user can write: a name in the shared
        # temporary folder could be taken first by another user, who would then get every "show"
        # (an attack). Unix socket paths are short (108 bytes): a deep folder falls back to it.
        inside = self.config_dir.resolve() / "instance.sock"
        if os.name == "posix" and len(os.fsencode(inside)) < 100:
            self.name = str(inside)
        else:
            key = hashlib.sha1(os.fsencode(inside.parent)).hexdigest()[:16]
            self.name = f"photosorter-{key}"
        self._fd: int | None = None
        self.server: QLocalServer | None = None

    def acquire(self) -> bool:
        """True when this process now holds the library; False when another one does."""
        if fcntl is None:
            return not self.ask_to_show()
        path = self.config_dir / "instance.lock"
        flags = os.O_RDONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        try:
            self.config_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, flags, 0o600)  # read-only is enough for flock (a read-only config folder)
        except OSError as exc:  # a folder or a link in its place: start without the guard, never fail to start
            log.warning("cannot use %s (%s): not checking for another photosorter on this library", path, exc)
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        # The lock file deleted (or replaced) while the app runs leaves that app's lock on a file
        # no one can open, so this start got a fresh one (an attack opened a second window that
        # way). The running app still answers on its socket: then it holds the library.
        if self.ask_to_show():
            os.close(fd)
            return False
        self._fd = fd  # held until the process ends
        return True

    def ask_to_show(self, timeout_ms: int = 1000) -> bool:
        """Ask the running app to show its window; True if it answered."""
        sock = QLocalSocket()
        sock.connectToServer(self.name)
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(b"show\n")
        sock.flush()
        sock.waitForBytesWritten(timeout_ms)
        sock.disconnectFromServer()
        return True

    def close(self) -> None:
        """Stop answering "show" (the window is gone; the app is finishing a last job): a start
        meanwhile is told the app is still running, not sent to a window that will not come."""
        if self.server is not None:
            self.server.close()
            self.server = None

    def listen(self, show: Callable[[], None]) -> None:
        """Serve later starts' "show" requests (call once the window exists)."""
        QLocalServer.removeServer(self.name)  # a socket file left by a crashed holder
        server = QLocalServer()
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user only
        if not server.listen(self.name):
            return  # a second start then says "already open" without raising the window

        def connected() -> None:
            while server.hasPendingConnections():
                conn = server.nextPendingConnection()
                conn.readyRead.connect(lambda c=conn: _answer(c, show))
                conn.disconnected.connect(conn.deleteLater)

        server.newConnection.connect(connected)
        self.server = server


def _answer(conn: QLocalSocket, show: Callable[[], None]) -> None:
    conn.readAll()
    show()
