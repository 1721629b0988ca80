"""A stand-in for the control plane's GraphQL endpoint, for an executor's unit tests.

It answers what an attempt token may do, as ``ctx.state`` and ``persist()`` ask it:
``taskState``, ``setTaskState`` and ``recordMaterializations``; it checks the Bearer token,
keeps task state in memory and every request, read and recording it got::

    api = FakeControlPlane()
    ctx = CallContext({..., "apiUrl": api.url}, TOKEN, executor=executor)
    ...
    api.recorded[0]["assets"]  # what persist() recorded
    api.close()
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterable, List, Optional, Tuple

TOKEN = "mat_eyJ0IjoidGVzdCJ9.c2ln"


class FakeControlPlane:
    """Serves on a free loopback port (``url``) until ``close()``. ``conflict_keys``: task-state
    keys whose write answers CONFLICT, as for an attempt that is no longer current."""

    def __init__(self, token: str = TOKEN, conflict_keys: Iterable[str] = ()):
        self.token = token
        self.conflict_keys = set(conflict_keys)
        # Every request: its authorization, content type, query and variables.
        self.requests: List[Dict[str, Any]] = []
        # (taskId, tryNumber) -> {key: value}
        self.state: Dict[Tuple[str, int], Dict[str, Any]] = {}
        # The variables of every taskState read, and the input of every recording.
        self.reads: List[Dict[str, Any]] = []
        self.recorded: List[Dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw.decode("utf-8"))
                auth = self.headers.get("authorization")
                fake.requests.append({"authorization": auth, "content_type": self.headers.get("content-type"), **body})
                out = json.dumps(fake.answer(auth, body)).encode("utf-8")
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/graphql" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def error(code: str, message: str) -> Dict[str, Any]:
        return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}

    def answer(self, authorization: Optional[str], body: Dict[str, Any]) -> Dict[str, Any]:
        if authorization != "Bearer " + self.token:
            return self.error("UNAUTHENTICATED", "bad or missing attempt token")
        query: str = body["query"]
        v = body.get("variables") or {}
        if "setTaskState(input: $input)" in query:
            i = v["input"]
            if i["key"] in self.conflict_keys:
                return self.error("CONFLICT", "the attempt is not current")
            self.state.setdefault((i["taskId"], i["tryNumber"]), {})[i["key"]] = i["value"]
            return {"data": {"setTaskState": {"key": i["key"], "tryNumber": i["tryNumber"]}}}
        if "taskState(dagId: $dagId, taskId: $taskId, tryNumber: $tryNumber)" in query:
            self.reads.append(v)
            n = v.get("tryNumber")
            if n is None:
                tries = sorted(t for (task, t), kv in self.state.items() if task == v["taskId"] and kv)
                if not tries:
                    return {"data": {"taskState": []}}
                n = tries[-1]
            kv = self.state.get((v["taskId"], n), {})
            return {"data": {"taskState": [{"key": k, "value": kv[k], "tryNumber": n} for k in sorted(kv)]}}
        if "recordMaterializations(input: $input)" in query:
            self.recorded.append(v["input"])
            first = len(self.recorded) * 100
            mats = [{"id": str(first + i), "assetKey": a["assetKey"]} for i, a in enumerate(v["input"]["assets"])]
            return {"data": {"recordMaterializations": {"materializations": mats, "alreadyRecorded": 0}}}
        return self.error("GRAPHQL_VALIDATION_FAILED", "unknown operation")
