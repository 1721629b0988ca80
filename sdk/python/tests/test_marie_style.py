"""The README's executors, served as they are written there."""

import http.client
import json
import os
import re
import tempfile
import threading
import unittest
from typing import Any, Dict

from marie_cp import compute_asset_version, create_server
from tests.fake_graphql import TOKEN, FakeGraphQL

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def readme_example(marker: str = "marie-style-example") -> Dict[str, Any]:
    with open(README) as f:
        text = f.read()
    block = re.search(r"<!-- %s -->\s*```python\n(.*?)```" % marker, text, re.S)
    assert block is not None, "README lost its %s" % marker
    scope: Dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(block.group(1), README, "exec"), scope)
    return scope


class MarieStyleTest(unittest.TestCase):
    def test_the_readme_executor_serves_unchanged(self) -> None:
        cls = readme_example()["TextExtractionExecutor"]
        server = create_server(cls(device="cuda:0", metas={"name": "extract"}), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self.addCleanup(server.close)

        def post(path: str, data: Any) -> Any:
            conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
            body = {"data": data, "context": {"dagId": "d", "jobId": "j", "taskId": "t", "tryNumber": 1}}
            conn.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json"})
            res = conn.getresponse()
            out = (res.status, json.loads(res.read()))
            conn.close()
            return out

        status, out = post(
            "/document/extract",
            {"docs": [{"uri": "s3://b/doc.pdf"}], "parameters": {"job_id": "j-9", "payload": {"text": "a\n\n b \n"}}},
        )
        self.assertEqual(status, 200)
        self.assertEqual(
            out["output"],
            {
                "status": "succeeded",
                "queue_id": "0000-0000-0000-0000",
                "job_id": "j-9",
                "metadata": {"lines": ["a", "b"], "docs": 1},
            },
        )
        self.assertEqual(post("/default", {}), (200, {"output": {"valid": True}}))


class ReadmeServeExampleTest(unittest.TestCase):
    def test_the_readme_executor_streams_progress_writes_state_and_persists(self) -> None:
        api = FakeGraphQL()
        self.addCleanup(api.close)
        storage = tempfile.TemporaryDirectory()
        self.addCleanup(storage.cleanup)
        os.environ["MARIE_STORAGE_URL"] = "file://" + storage.name
        self.addCleanup(os.environ.pop, "MARIE_STORAGE_URL")
        cls = readme_example("serve-example")["OcrExecutor"]
        server = create_server(cls(metas={"name": "ocr-gpu"}), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self.addCleanup(server.close)
        context = {
            "tenantId": "t1",
            "dagId": "dag-7",
            "dagName": "docs",
            "jobId": "job-7",
            "taskId": "ocr",
            "tryNumber": 1,
            "partitionKey": None,
            "endpoint": "extract",
            "apiUrl": api.url,
            "upstream": [],
        }

        def post(data: Any) -> Any:
            conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
            body = json.dumps({"data": data, "context": context})
            headers = {"content-type": "application/json", "authorization": "Bearer " + TOKEN}
            conn.request("POST", "/extract", body=body, headers=headers)
            res = conn.getresponse()
            out = (res.status, res.read().decode())
            conn.close()
            return out

        docs = [{"text": "hello"}, {"text": "world"}]
        status, raw = post({"docs": docs, "parameters": {"mode": "fast"}})
        self.assertEqual(status, 200)
        lines = [json.loads(line) for line in raw.splitlines()]
        self.assertEqual(lines[0], {"progress": {"percent": 50.0, "message": "page 1"}})
        self.assertEqual(lines[-1], {"output": {"pages": 2}})
        self.assertEqual(api.state[("ocr", 1)], {"PAGES": 2})
        recorded = api.requests[-1]["variables"]["input"]
        self.assertEqual(api.requests[-1]["authorization"], "Bearer " + TOKEN)
        self.assertEqual(
            recorded["assets"][0]["version"],
            compute_asset_version(b"HELLO\nWORLD", "git:abcd1234", "craft-ocr-v2", []),
        )
        status, raw = post({"docs": docs, "parameters": {"mode": "slow"}})
        self.assertEqual(status, 422)
        self.assertEqual(json.loads(raw)["error"]["nonRetryable"], True)


if __name__ == "__main__":
    unittest.main()
