"""serve.py as a process: both executors on one port, the sdk protocol end to end."""

import json
import os
import signal
import subprocess
import sys
import unittest
import urllib.request

from marie_cp.testing import TOKEN
from tests.support import SAMPLE_CLAIMS, PipelineCase

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ServeTest(PipelineCase):
    def setUp(self) -> None:
        super().setUp()
        env = dict(os.environ, MARIE_STORAGE_URL=self.storage_url, MARIE_EXECUTOR_PORT="0", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "serve.py"), "--host", "127.0.0.1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.addCleanup(self._stop)
        line = self.proc.stdout.readline()
        self.assertIn("serving classify, extract on http://127.0.0.1:", line)
        self.url = line.strip().rsplit(" ", 1)[1]

    def _stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()

    def post(self, path: str, body: dict) -> dict:
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode("utf-8"),
            headers={"content-type": "application/json", "authorization": "Bearer " + TOKEN},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=60) as res:
            return json.loads(res.read())

    def context(self, task_id: str) -> dict:
        return {
            "tenantId": "t1",
            "dagId": "dag-1",
            "dagName": "claims-pipeline",
            "jobId": "job-" + task_id,
            "taskId": task_id,
            "tryNumber": 1,
            "partitionKey": None,
            "endpoint": "/" + task_id,
            "deadline": None,
            "apiUrl": self.api.url,
            "upstream": self.upstream(),
        }

    def test_status_names_both_and_each_endpoint_answers(self) -> None:
        with urllib.request.urlopen(self.url + "/_marie/status", timeout=30) as res:
            status = json.loads(res.read())
        self.assertEqual(status["executors"], ["classify", "extract"])
        self.assertIs(status["healthy"], True)
        self.api.state[("ocr", 1)] = {"ocr_summary": {"pageCount": 2}}
        extract = self.post("/extract", {"data": {}, "context": self.context("extract")})["output"]
        self.assertEqual((extract["claims"], extract["pageCount"]), (SAMPLE_CLAIMS, 2))
        self.assertTrue(extract["assets"][0]["uri"].startswith(self.storage_url + "/t1/dag-1/extract/1/"))
        classify = self.post("/classify", {"data": {}, "context": self.context("classify")})["output"]
        self.assertEqual(classify["documentType"], "claim_form")
        self.assertEqual([r["nodeTaskId"] for r in self.api.recorded], ["extract", "classify"])


if __name__ == "__main__":
    unittest.main()
