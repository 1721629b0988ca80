"""A call's answer on its keep-alive connection, and the watcher that notices a client that
went away while its call ran (server.py serves both)."""

import json
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable, Dict, Optional


class CallAnswer:
    """One call's answer on its connection: progress lines (NDJSON, chunked) while it runs,
    from any thread, then the result; nothing is written once the client is gone."""

    def __init__(self, handler: BaseHTTPRequestHandler):
        self.handler = handler
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._streaming = False
        self._gone = False
        self._done = False

    def client_gone(self) -> None:
        with self._lock:
            self._gone = True
        self.cancelled.set()

    def progress(self, percent: float, message: Optional[str]) -> None:
        with self._lock:
            if self._gone or self._done:
                return
            try:
                if not self._streaming:
                    self.handler.send_response(200)
                    self.handler.send_header("content-type", "application/x-ndjson")
                    self.handler.send_header("transfer-encoding", "chunked")
                    self.handler.end_headers()
                    self._streaming = True
                self._chunk({"progress": {"percent": percent, "message": message}})
            except OSError:
                self._gone = True
        if self._gone:
            self.cancelled.set()

    def finish(self, code: int, answer: Dict[str, Any]) -> None:
        with self._lock:
            self._done = True
            try:
                if self._gone:
                    self.handler.close_connection = True
                elif self._streaming:
                    self._chunk(answer)
                    self.handler.wfile.write(b"0\r\n\r\n")
                else:
                    self.handler._send_json(code, answer)  # type: ignore[attr-defined]
            except OSError:
                self.cancelled.set()
                self.handler.close_connection = True

    def _chunk(self, obj: Any) -> None:
        line = (json.dumps(obj) + "\n").encode("utf-8")
        self.handler.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
        self.handler.wfile.flush()


class ConnectionWatcher:
    """One thread for the whole server that looks, every 0.1 s while calls run, for a
    running call's client that closed its connection (the worker gave up or died)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._watched: Dict[socket.socket, Callable[[], None]] = {}
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def watch(self, conn: socket.socket, on_gone: Callable[[], None]) -> None:
        with self._lock:
            self._watched[conn] = on_gone
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="marie-watch", daemon=True)
                self._thread.start()
        self._wake.set()

    def unwatch(self, conn: socket.socket) -> None:
        with self._lock:
            self._watched.pop(conn, None)

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while True:
                with self._lock:
                    if not self._watched:
                        break
                time.sleep(0.1)
                with self._lock:
                    watched = list(self._watched.items())
                for conn, on_gone in watched:
                    if closed_by_peer(conn):
                        with self._lock:
                            fire = self._watched.get(conn) is on_gone  # not a later call's
                            if fire:
                                del self._watched[conn]
                        if fire:
                            on_gone()


def closed_by_peer(conn: socket.socket) -> bool:
    try:
        readable, _, _ = select.select([conn], [], [], 0)
        return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True
