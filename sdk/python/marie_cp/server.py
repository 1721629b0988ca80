"""serve(): the `sdk` remote-executor protocol (DESIGN.md "Remote executors") over
http.server.ThreadingHTTPServer."""

import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from .connection import CallAnswer, ConnectionWatcher
from .context import CallContext
from .executor import DEFAULT_ENDPOINT, Executor, call_handler, normalize_endpoint
from .gpu import detect_gpus

CANCEL_PATH = "/_marie/cancel"
STATUS_PATH = "/_marie/status"
_REMEMBER_CANCEL_S = 600.0

CallKey = Tuple[str, int]

_log = logging.getLogger("marie_cp.server")


class MarieServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, executors: Sequence[Executor], address: Tuple[str, int], code_version: Optional[str]):
        self.executors = list(executors)
        self.code_version = code_version
        self.routes: Dict[Optional[str], Tuple[Executor, Callable]] = {}
        for ex in self.executors:
            for path, method in ex.routes().items():
                if path in self.routes:
                    raise ValueError(
                        "endpoint %s is served by both %s and %s"
                        % (path or "(default)", self.routes[path][0].name, ex.name)
                    )
                self.routes[path] = (ex, method)
        self._lock = threading.Lock()
        self._calls: Dict[CallKey, Set[threading.Event]] = {}
        self._cancelled: Dict[CallKey, float] = {}
        self.watcher = ConnectionWatcher()
        self.draining = False
        self._calls_running = 0
        self._idle = threading.Condition()
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return "http://%s:%d" % ("127.0.0.1" if host in ("0.0.0.0", "") else host, port)

    def route(self, path: str) -> Optional[Tuple[Executor, Callable]]:
        want = normalize_endpoint(path)
        if want != "/" and want in self.routes:
            return self.routes[want]
        return self.routes.get(DEFAULT_ENDPOINT)

    def register(self, key: CallKey, event: threading.Event) -> None:
        with self._lock:
            now = time.monotonic()
            for k in [k for k, t in self._cancelled.items() if now - t > _REMEMBER_CANCEL_S]:
                del self._cancelled[k]
            if key in self._cancelled:
                event.set()
            self._calls.setdefault(key, set()).add(event)

    def unregister(self, key: CallKey, event: threading.Event) -> None:
        with self._lock:
            events = self._calls.get(key)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._calls[key]

    def cancel(self, key: CallKey) -> int:
        """Set the cancelled event of that attempt's running calls (and of one arriving later)."""
        with self._lock:
            self._cancelled[key] = time.monotonic()
            events = list(self._calls.get(key, ()))
        for e in events:
            e.set()
        return len(events)

    def begin_call(self) -> bool:
        """Count a call in; False while draining (the call is not started)."""
        with self._idle:
            if self.draining:
                return False
            self._calls_running += 1
            return True

    def end_call(self) -> None:
        with self._idle:
            self._calls_running -= 1
            self._idle.notify_all()

    def drain(self, timeout: float, give_up: Optional[threading.Event] = None) -> bool:
        """Take no new call (503, and the status says unhealthy, so workers pause and hand
        their jobs back), then wait up to `timeout` s, or until `give_up` is set, for the
        running calls to end. True when none is left."""
        deadline = time.monotonic() + timeout
        with self._idle:
            self.draining = True
            while self._calls_running > 0:
                left = deadline - time.monotonic()
                if left <= 0 or (give_up is not None and give_up.is_set()):
                    return False
                self._idle.wait(min(left, 0.1))
            return True

    def status(self) -> Dict[str, Any]:
        if self.draining:
            return {
                "executors": [ex.name for ex in self.executors],
                "gpus": [],
                "healthy": False,
                "draining": True,
                "codeVersion": self.code_version,
            }
        gpus, gpus_healthy = detect_gpus()
        healthy = gpus_healthy
        for ex in self.executors:
            try:
                healthy = healthy and bool(ex.is_healthy())
            except Exception:
                healthy = False
        return {
            "executors": [ex.name for ex in self.executors],
            "gpus": gpus,
            "healthy": healthy,
            "codeVersion": self.code_version,
        }

    def close(self) -> None:
        """Stop serving (from another thread than serve_forever's) and close the executors."""
        self.shutdown()
        self.server_close()
        for ex in self.executors:
            try:
                ex.close()
            except Exception:
                traceback.print_exc()


def _error(message: str, non_retryable: bool) -> Dict[str, Any]:
    return {"error": {"message": message, "nonRetryable": non_retryable}}


def _key_of(job_id: Any, try_number: Any) -> Optional[CallKey]:
    if job_id is None or try_number is None:
        return None
    try:
        return (str(job_id), int(try_number))
    except (TypeError, ValueError):
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm the body would wait
    # for the worker's delayed ACK (~40 ms a call on a keep-alive connection).
    disable_nagle_algorithm = True
    server: MarieServer

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("MARIE_SDK_LOG"):
            super().log_message(format, *args)

    # ---- plumbing ----

    def _send_json(self, code: int, body: Any, close: bool = False) -> None:
        raw = json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("content-type", "application/json")
        if close:
            self.send_header("connection", "close")
            self.close_connection = True
        self.send_header("content-length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _read_json(self) -> Any:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        return json.loads(raw.decode("utf-8")) if raw else None

    # ---- routes ----

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == STATUS_PATH:
            self._send_json(200, self.server.status())
        else:
            self._send_json(404, _error("no route GET %s" % self.path, True))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        try:
            body = self._read_json()
        except ValueError as err:
            self._send_json(400, _error("the body is not JSON: %s" % err, True))
            return
        if path == CANCEL_PATH:
            key = _key_of((body or {}).get("jobId"), (body or {}).get("tryNumber"))
            if key is None:
                self._send_json(400, _error("cancel takes {jobId, tryNumber}", True))
            else:
                self._send_json(200, {"cancelled": self.server.cancel(key)})
            return
        route = self.server.route(path)
        if route is None:
            served = ", ".join(sorted(p or "(default)" for p in self.server.routes)) or "none"
            self._send_json(404, _error("no endpoint %s (served: %s)" % (normalize_endpoint(path), served), True))
            return
        if not isinstance(body, dict) or not isinstance(body.get("context"), dict):
            self._send_json(400, _error("the body must be {data, context}", True))
            return
        if not self.server.begin_call():
            # Draining: not started, so the worker hands the job back (the same try) once its
            # status check sees this server unhealthy.
            self._send_json(503, _error("the executor server is shutting down: the call was not started", False), True)
            return
        try:
            self._run(route, body)
        finally:
            self.server.end_call()

    def _run(self, route: Tuple[Executor, Callable], body: Dict[str, Any]) -> None:
        """The call runs here, in the connection's thread: no thread and no hand-over per
        call. Progress is written by whichever thread reports it; the server's watcher
        notices a client that went away meanwhile."""
        executor, method = route
        context = body["context"]
        auth = self.headers.get("authorization") or ""
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        call = CallAnswer(self)
        ctx = CallContext(context, token, executor=executor, on_progress=call.progress, cancelled=call.cancelled)
        key = _key_of(context.get("jobId"), context.get("tryNumber"))
        if key is not None:
            self.server.register(key, call.cancelled)
        self.server.watcher.watch(self.connection, call.client_gone)
        try:
            out = call_handler(method, body.get("data"), ctx)
            json.dumps(out)  # not JSON: an error, not a broken answer
            code, answer = 200, {"output": out}
        except Exception as err:
            non_retryable = bool(getattr(err, "non_retryable", False))
            if not non_retryable:
                _log.exception("%s %s failed (a retryable error)", executor.name, ctx.endpoint)
            code, answer = (422 if non_retryable else 500), _error(str(err) or type(err).__name__, non_retryable)
        finally:
            self.server.watcher.unwatch(self.connection)
            if key is not None:
                self.server.unregister(key, call.cancelled)
        call.finish(code, answer)


def create_server(
    executors: Union[Executor, Sequence[Executor]],
    host: str = "0.0.0.0",
    port: int = 8080,
    code_version: Optional[str] = None,
) -> MarieServer:
    """A bound server (port 0: a free one, see `.url`); run it with `serve_forever()`."""
    if isinstance(executors, Executor):
        executors = [executors]
    if code_version is None:
        code_version = os.environ.get("MARIE_CODE_VERSION") or next(
            (ex.code_version for ex in executors if ex.code_version), None
        )
    return MarieServer(executors, (host, port), code_version)


def serve(
    executors: Union[Executor, Sequence[Executor]],
    host: str = "0.0.0.0",
    port: int = 8080,
    code_version: Optional[str] = None,
    drain_seconds: Optional[float] = None,
) -> None:
    """Serve the executors until SIGTERM or Ctrl-C, then drain and close them.

    Draining: no new call is started (503; the status says unhealthy, so the workers pause
    this executor and hand its jobs back, their tries unspent) while the running calls end,
    for up to `drain_seconds` (`MARIE_DRAIN_SECONDS`, 30 by default). A second signal stops
    at once."""
    if drain_seconds is None:
        drain_seconds = float(os.environ.get("MARIE_DRAIN_SECONDS") or 30)
    server = create_server(executors, host, port, code_version)
    stop = threading.Event()
    at_once = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if stop.is_set():
            at_once.set()
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="marie-serve", daemon=True)
    thread.start()
    try:
        # Timed waits: a signal the kernel hands to another thread runs its Python handler
        # only when the main thread next wakes (an untimed wait could sleep through SIGTERM).
        while not stop.wait(0.2):
            pass
        sys.stderr.write("marie_cp: draining for up to %g s (signal again to stop at once)\n" % drain_seconds)
        if not server.drain(drain_seconds, at_once):
            sys.stderr.write("marie_cp: calls still running; stopping anyway\n")
    finally:
        server.close()


__all__: List[str] = ["MarieServer", "create_server", "serve", "CANCEL_PATH", "STATUS_PATH"]
