"""The README's Marie-style executor, served as it is written there."""

import http.client
import json
import os
import re
import threading
import unittest
from typing import Any, Dict

from marie_cp import create_server

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def readme_example() -> Dict[str, Any]:
    with open(README) as f:
        text = f.read()
    block = re.search(r"<!-- marie-style-example -->\s*```python\n(.*?)```", text, re.S)
    assert block is not None, "README lost its marie-style example"
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


if __name__ == "__main__":
    unittest.main()
