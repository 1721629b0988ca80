"""serve() on SIGTERM: no new call, the running ones end, then it exits (a second signal: at once)."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
from typing import Any, Dict, List, Optional, Tuple

SDK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# An executor whose /slow call says on stdout that it started, then runs `seconds`.
SERVED = """
import sys, time
from marie_cp import Executor, requests, serve

class Slow(Executor):
    @requests(on="/slow")
    def slow(self, parameters):
        print("started", flush=True)
        time.sleep(parameters["seconds"])
        return {"slept": parameters["seconds"]}

serve([Slow(metas={"name": "slow"})], host="127.0.0.1", port=int(sys.argv[1]), drain_seconds=float(sys.argv[2]))
"""


# SIGTERM delivered to a thread other than the main one (as the kernel may pick any thread).
SIGNAL_ON_ANOTHER_THREAD = """
import signal, threading, time
from marie_cp import Executor, requests, serve

class Noop(Executor):
    @requests
    def noop(self):
        return None

def later():
    time.sleep(0.5)
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

threading.Thread(target=later, daemon=True).start()
serve([Noop(metas={"name": "noop"})], host="127.0.0.1", port=0, drain_seconds=5)
print("stopped", flush=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, drain_seconds: float):
        self.port = free_port()
        env = dict(os.environ, PYTHONPATH=SDK, NVIDIA_SMI_PATH="/nonexistent/nvidia-smi")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVED, str(self.port), str(drain_seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.status()[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the served executor did not come up")
            time.sleep(0.05)

    def request(self, method: str, path: str, body: Any = None) -> Tuple[int, Dict[str, str], Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body))
            res = conn.getresponse()
            return res.status, {k.lower(): v for k, v in res.getheaders()}, json.loads(res.read())
        finally:
            conn.close()

    def status(self) -> Tuple[int, Dict[str, str], Any]:
        return self.request("GET", "/_marie/status")

    def call_in_background(self, seconds: float) -> List[Optional[Tuple[int, Dict[str, str], Any]]]:
        """POST /slow from a thread; its answer lands in the list. Returns once the call started."""
        got: List[Optional[Tuple[int, Dict[str, str], Any]]] = [None]
        self.started_line = ""
        body = {"data": {"parameters": {"seconds": seconds}}, "context": {"jobId": "j", "tryNumber": 1}}

        def run() -> None:
            try:
                got[0] = self.request("POST", "/slow", body)
            except OSError as err:
                got[0] = (0, {}, str(err))

        threading.Thread(target=run, daemon=True).start()
        assert self.proc.stdout is not None
        self.started_line = self.proc.stdout.readline()
        return got

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


def answer_of(running: List[Optional[Tuple[int, Dict[str, str], Any]]]) -> Tuple[int, Dict[str, str], Any]:
    deadline = time.monotonic() + 5
    while running[0] is None and time.monotonic() < deadline:
        time.sleep(0.02)
    answer = running[0]
    assert answer is not None, "the call got no answer and no error"
    return answer


class DrainTest(unittest.TestCase):
    def test_sigterm_starts_no_new_call_lets_the_running_one_end_then_exits(self) -> None:
        served = Served(drain_seconds=20)
        self.addCleanup(served.close)
        running = served.call_in_background(1.5)
        self.assertEqual(served.started_line.strip(), "started")
        served.proc.send_signal(signal.SIGTERM)

        # Unhealthy and draining: a worker's status check pauses this executor.
        deadline = time.monotonic() + 10
        while True:
            code, _, body = served.status()
            if body.get("draining") or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual((code, body["healthy"], body["draining"]), (200, False, True))

        # A new call is not started: 503, retryable, and the connection is closed.
        code, headers, body = served.request("POST", "/slow", {"data": {}, "context": {"jobId": "k", "tryNumber": 1}})
        self.assertEqual(code, 503)
        self.assertEqual(headers.get("connection"), "close")
        self.assertFalse(body["error"]["nonRetryable"])
        self.assertIn("not started", body["error"]["message"])

        # The running call ends with its output, then the process exits on its own.
        self.assertEqual(served.proc.wait(15), 0)
        answer = answer_of(running)
        self.assertEqual((answer[0], answer[2]), (200, {"output": {"slept": 1.5}}))

    def test_a_second_signal_stops_at_once(self) -> None:
        served = Served(drain_seconds=60)
        self.addCleanup(served.close)
        running = served.call_in_background(60)
        self.assertEqual(served.started_line.strip(), "started")
        served.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        self.assertIsNone(served.proc.poll(), "still draining after one signal")
        started = time.monotonic()
        served.proc.send_signal(signal.SIGTERM)
        self.assertEqual(served.proc.wait(10), 0)
        self.assertLess(time.monotonic() - started, 5)
        # The call never got an answer: the worker sees its connection go (a failed attempt).
        self.assertNotEqual(answer_of(running)[0], 200)

    def test_a_signal_taken_by_another_thread_still_stops_it(self) -> None:
        env = dict(os.environ, PYTHONPATH=SDK, NVIDIA_SMI_PATH="/nonexistent/nvidia-smi")
        done = subprocess.run(
            [sys.executable, "-c", SIGNAL_ON_ANOTHER_THREAD], env=env, capture_output=True, text=True, timeout=20
        )
        self.assertEqual((done.returncode, done.stdout.strip()), (0, "stopped"), done.stderr)


if __name__ == "__main__":
    unittest.main()
