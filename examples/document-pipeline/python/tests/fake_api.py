"""A stand-in for the control plane's GraphQL endpoint, as an executor's attempt token
reaches it: task state in memory, every recordMaterializations input kept."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

TOKEN = "mat_eyJ0IjoiZXhhbXBsZSJ9.c2ln"


class FakeApi:
    def __init__(self, token: str = TOKEN):
        self.token = token
        # (taskId, tryNumber) -> {key: value}
        self.state: Dict[Tuple[str, int], Dict[str, Any]] = {}
        self.recorded: List[Dict[str, Any]] = []
        self.reads: List[Dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                out = json.dumps(fake.answer(self.headers.get("authorization"), json.loads(raw))).encode("utf-8")
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
    def _error(code: str, message: str) -> Dict[str, Any]:
        return {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}

    def answer(self, authorization: Optional[str], body: Dict[str, Any]) -> Dict[str, Any]:
        if authorization != "Bearer " + self.token:
            return self._error("UNAUTHENTICATED", "bad or missing attempt token")
        query: str = body["query"]
        v = body.get("variables") or {}
        if "taskState(" in query:
            self.reads.append(v)
            tries = sorted(n for (t, n), kv in self.state.items() if t == v["taskId"] and kv)
            n = v.get("tryNumber")
            if n is None:
                if not tries:
                    return {"data": {"taskState": []}}
                n = tries[-1]
            kv = self.state.get((v["taskId"], n), {})
            return {"data": {"taskState": [{"key": k, "value": kv[k], "tryNumber": n} for k in sorted(kv)]}}
        if "setTaskState(" in query:
            i = v["input"]
            self.state.setdefault((i["taskId"], i["tryNumber"]), {})[i["key"]] = i["value"]
            return {"data": {"setTaskState": {"key": i["key"], "tryNumber": i["tryNumber"]}}}
        if "recordMaterializations(" in query:
            self.recorded.append(v["input"])
            mats = [{"id": str(len(self.recorded) * 100 + i), "assetKey": a["assetKey"]} for i, a in enumerate(v["input"]["assets"])]
            return {"data": {"recordMaterializations": {"materializations": mats, "alreadyRecorded": 0}}}
        return self._error("GRAPHQL_VALIDATION_FAILED", "unknown operation")
