"""A small stand-in for the control plane's GraphQL endpoint: checks the Bearer token and
the shape of the operations the SDK sends, and keeps task state in memory."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Optional, Tuple

TOKEN = "mat_eyJ0IjoidGVzdCJ9.c2ln"


class FakeGraphQL:
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.requests: List[Dict[str, Any]] = []
        # (taskId, tryNumber) -> {key: value}
        self.state: Dict[Tuple[str, int], Dict[str, Any]] = {}
        self.conflict_keys = {"stale"}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw.decode("utf-8"))
                fake.requests.append(
                    {"authorization": self.headers.get("authorization"), "content_type": self.headers.get("content-type"), **body}
                )
                answer = fake.answer(self.headers.get("authorization"), body)
                out = json.dumps(answer).encode("utf-8")
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
            tries = sorted(n for (t, n), kv in self.state.items() if t == v["taskId"] and kv)
            n = v.get("tryNumber")
            if n is None:
                if not tries:
                    return {"data": {"taskState": []}}
                n = tries[-1]
            kv = self.state.get((v["taskId"], n), {})
            return {"data": {"taskState": [{"key": k, "value": kv[k], "tryNumber": n} for k in sorted(kv)]}}
        if "recordMaterializations(input: $input)" in query:
            assets = v["input"]["assets"]
            return {
                "data": {
                    "recordMaterializations": {
                        "materializations": [{"id": str(100 + i), "assetKey": a["assetKey"]} for i, a in enumerate(assets)],
                        "alreadyRecorded": 0,
                    }
                }
            }
        return self.error("GRAPHQL_VALIDATION_FAILED", "unknown operation")
