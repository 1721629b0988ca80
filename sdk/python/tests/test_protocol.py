"""The `sdk` remote-executor protocol end to end against a served executor."""

import http.client
import json
import logging
import os
import queue
import socket
import stat
import tempfile
import threading
import time
import unittest
from typing import Any, Dict, Optional, Tuple

from marie_cp import Executor, NonRetryableError, create_server, requests

CONTEXT = {
    "tenantId": "t1",
    "dagId": "dag-1",
    "dagName": "docs",
    "jobId": "job-1",
    "taskId": "ocr",
    "tryNumber": 2,
    "partitionKey": "2026-01-01",
    "endpoint": "extract",
    "deadline": "2026-12-01T00:00:00.000Z",
    "apiUrl": "http://127.0.0.1:9/graphql",
    "upstream": [{"assetKey": "src/image", "version": "v:sha256:aa", "partitionKey": None, "uri": None, "nodeTaskId": "load"}],
}


class Worker(Executor):
    code_version = "git:abc"

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.started: "queue.Queue[str]" = queue.Queue()
        self.saw_cancel: "queue.Queue[bool]" = queue.Queue()

    @requests(on="/extract")
    def extract(self, data: Any, ctx: Any) -> Dict[str, Any]:
        return {
            "data": data,
            "ids": [ctx.dag_id, ctx.dag_name, ctx.job_id, ctx.task_id, ctx.try_number, ctx.partition_key, ctx.deadline],
            "upstream": ctx.upstream(),
            "token": ctx.token,
        }

    @requests(on=["/split", "/split2"])
    def split(self, docs: Any, parameters: Any) -> Dict[str, Any]:
        return {"docs": docs, "parameters": parameters}

    @requests(on="/progress")
    def progress(self, ctx: Any) -> Dict[str, Any]:
        ctx.progress(10, "loading")
        ctx.progress(55.5, None)
        return {"pages": 3}

    @requests(on="/threaded-progress")
    def threaded_progress(self, ctx: Any) -> Dict[str, Any]:
        reporters = [threading.Thread(target=ctx.progress, args=(10 * (i + 1), "part %d" % i)) for i in range(3)]
        for t in reporters:
            t.start()
            t.join()
        return {"parts": 3}

    @requests(on="/late-failure")
    def late_failure(self, ctx: Any) -> None:
        ctx.progress(20, "half way")
        raise NonRetryableError("page 3 is not a PDF")

    @requests(on="/bad")
    def bad(self, parameters: Any) -> None:
        raise NonRetryableError("parameters.mode must be fast or slow")

    @requests(on="/boom")
    def boom(self) -> None:
        raise RuntimeError("CUDA out of memory")

    @requests(on="/async")
    async def run_async(self, parameters: Any) -> Dict[str, Any]:
        return {"async": parameters}

    @requests(on="/wait")
    def wait(self, ctx: Any) -> Dict[str, Any]:
        self.started.put(ctx.job_id)
        got = ctx.cancelled.wait(10)
        self.saw_cancel.put(got)
        return {"cancelled": got}


class Fallback(Executor):
    @requests
    def anything(self, parameters: Any, ctx: Any) -> Dict[str, Any]:
        return {"endpoint": ctx.endpoint, "parameters": parameters}


def write_fake_smi(folder: str, body: str) -> str:
    path = os.path.join(folder, "nvidia-smi")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


class ProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        logging.getLogger("marie_cp").setLevel(logging.CRITICAL)  # the 500 test's traceback
        cls.worker = Worker(metas={"name": "ocr-gpu"})
        cls.server = create_server([cls.worker], "127.0.0.1", 0)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.port = cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.close()

    def call(
        self, path: str, body: Any, token: Optional[str] = "mat_x.y", method: str = "POST"
    ) -> Tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = "Bearer " + token
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        res = conn.getresponse()
        out = (res.status, res.getheader("content-type") or "", res.read())
        conn.close()
        return out

    def post_job(self, endpoint: str, data: Any, **ctx: Any) -> Tuple[int, str, bytes]:
        return self.call(endpoint, {"data": data, "context": dict(CONTEXT, **ctx)})

    def test_json_answer_with_the_call_context(self) -> None:
        status, ctype, raw = self.post_job("/extract", {"docs": [{"text": "hi"}]})
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "application/json")
        out = json.loads(raw)["output"]
        self.assertEqual(out["data"], {"docs": [{"text": "hi"}]})
        self.assertEqual(out["ids"], ["dag-1", "docs", "job-1", "ocr", 2, "2026-01-01", "2026-12-01T00:00:00.000Z"])
        self.assertEqual(out["upstream"], CONTEXT["upstream"])
        self.assertEqual(out["token"], "mat_x.y")

    def test_keep_alive_calls_do_not_wait_for_a_delayed_ack(self) -> None:
        # Headers and body are separate writes; with Nagle's algorithm on, each answer on a
        # kept-alive connection would wait ~40 ms for the client's delayed ACK.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        body = json.dumps({"data": {"docs": []}, "context": CONTEXT})
        times = []
        for _ in range(15):
            began = time.monotonic()
            conn.request("POST", "/extract", body=body, headers={"content-type": "application/json"})
            res = conn.getresponse()
            res.read()
            self.assertEqual(res.status, 200)
            times.append(time.monotonic() - began)
        conn.close()
        times.sort()
        self.assertLess(times[len(times) // 2], 0.03, "median call %.1f ms" % (1000 * times[len(times) // 2]))

    def test_docs_and_parameters_split_and_several_paths(self) -> None:
        for path in ("/split", "/split2"):
            _, _, raw = self.post_job(path, {"docs": [{"id": "1"}], "parameters": {"lang": "en"}})
            self.assertEqual(json.loads(raw)["output"], {"docs": [{"id": "1"}], "parameters": {"lang": "en"}})
        _, _, raw = self.post_job("/split", {"lang": "de"})
        self.assertEqual(json.loads(raw)["output"], {"docs": [], "parameters": {"lang": "de"}})

    def test_async_handler(self) -> None:
        status, _, raw = self.post_job("/async", {"parameters": {"n": 1}})
        self.assertEqual((status, json.loads(raw)), (200, {"output": {"async": {"n": 1}}}))

    def test_progress_streams_ndjson_then_the_output(self) -> None:
        status, ctype, raw = self.post_job("/progress", {})
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "application/x-ndjson")
        lines = [json.loads(line) for line in raw.decode().splitlines()]
        self.assertEqual(
            lines,
            [
                {"progress": {"percent": 10.0, "message": "loading"}},
                {"progress": {"percent": 55.5, "message": None}},
                {"output": {"pages": 3}},
            ],
        )

    def test_progress_reported_from_other_threads_streams_before_the_output(self) -> None:
        status, ctype, raw = self.post_job("/threaded-progress", {})
        self.assertEqual((status, ctype), (200, "application/x-ndjson"))
        lines = [json.loads(line) for line in raw.decode().splitlines()]
        self.assertEqual(
            lines,
            [{"progress": {"percent": 10.0 * (i + 1), "message": "part %d" % i}} for i in range(3)]
            + [{"output": {"parts": 3}}],
        )

    def test_an_error_after_progress_is_the_last_ndjson_line(self) -> None:
        status, _, raw = self.post_job("/late-failure", {})
        self.assertEqual(status, 200)
        lines = [json.loads(line) for line in raw.decode().splitlines()]
        self.assertEqual(lines[-1], {"error": {"message": "page 3 is not a PDF", "nonRetryable": True}})
        self.assertEqual(lines[0], {"progress": {"percent": 20.0, "message": "half way"}})

    def test_unknown_endpoint_is_404_non_retryable(self) -> None:
        status, _, raw = self.post_job("/nope", {})
        self.assertEqual(status, 404)
        self.assertTrue(json.loads(raw)["error"]["nonRetryable"])
        self.assertIn("/nope", json.loads(raw)["error"]["message"])

    def test_non_retryable_error_is_422(self) -> None:
        status, _, raw = self.post_job("/bad", {})
        self.assertEqual(status, 422)
        self.assertEqual(
            json.loads(raw), {"error": {"message": "parameters.mode must be fast or slow", "nonRetryable": True}}
        )

    def test_other_exceptions_are_500_retryable(self) -> None:
        status, _, raw = self.post_job("/boom", {})
        self.assertEqual(status, 500)
        self.assertEqual(json.loads(raw), {"error": {"message": "CUDA out of memory", "nonRetryable": False}})

    def test_a_body_without_context_is_400(self) -> None:
        status, _, raw = self.call("/extract", {"data": {}})
        self.assertEqual(status, 400)
        self.assertTrue(json.loads(raw)["error"]["nonRetryable"])

    def test_status_reports_executors_gpus_health_and_code_version(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            smi = write_fake_smi(d, "printf '0, NVIDIA H100 80GB HBM3, 81559, 1024, 37\\n'")
            os.environ["NVIDIA_SMI_PATH"] = smi
            try:
                status, _, raw = self.call("/_marie/status", None, method="GET")
                write_fake_smi(d, "exit 9")
                _, _, sick = self.call("/_marie/status", None, method="GET")
            finally:
                del os.environ["NVIDIA_SMI_PATH"]
        self.assertEqual(status, 200)
        self.assertEqual(
            json.loads(raw),
            {
                "executors": ["ocr-gpu"],
                "gpus": [
                    {"index": 0, "name": "NVIDIA H100 80GB HBM3", "memoryTotalMiB": 81559, "memoryUsedMiB": 1024, "utilizationPercent": 37}
                ],
                "healthy": True,
                "codeVersion": "git:abc",
            },
        )
        self.assertEqual(json.loads(sick)["healthy"], False)

    def test_cancel_sets_ctx_cancelled(self) -> None:
        answers: "queue.Queue[Tuple[int, str, bytes]]" = queue.Queue()
        t = threading.Thread(target=lambda: answers.put(self.post_job("/wait", {}, jobId="job-c", tryNumber=3)))
        t.start()
        self.assertEqual(self.worker.started.get(timeout=10), "job-c")
        # Another attempt of the same job is not this call.
        _, _, other = self.call("/_marie/cancel", {"jobId": "job-c", "tryNumber": 2})
        self.assertEqual(json.loads(other), {"cancelled": 0})
        status, _, raw = self.call("/_marie/cancel", {"jobId": "job-c", "tryNumber": 3})
        self.assertEqual((status, json.loads(raw)), (200, {"cancelled": 1}))
        self.assertTrue(self.worker.saw_cancel.get(timeout=10))
        t.join(10)
        status, _, raw = answers.get(timeout=10)
        self.assertEqual(json.loads(raw), {"output": {"cancelled": True}})

    def test_a_closed_client_connection_sets_ctx_cancelled(self) -> None:
        body = json.dumps({"data": {}, "context": dict(CONTEXT, jobId="job-gone", tryNumber=1)}).encode()
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.sendall(
            b"POST /wait HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(body), body)
        )
        self.assertEqual(self.worker.started.get(timeout=10), "job-gone")
        sock.close()
        self.assertTrue(self.worker.saw_cancel.get(timeout=10))

    def test_calls_share_a_keep_alive_connection_and_a_later_one_still_sees_its_client_go(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        for i in range(2):
            body = {"data": {"n": i}, "context": dict(CONTEXT, jobId="job-k%d" % i)}
            conn.request("POST", "/extract", body=json.dumps(body), headers={"content-type": "application/json"})
            res = conn.getresponse()
            self.assertEqual((res.status, json.loads(res.read())["output"]["data"]), (200, {"n": i}))
        sock = conn.sock
        body = {"data": {}, "context": dict(CONTEXT, jobId="job-k2", tryNumber=1)}
        conn.request("POST", "/wait", body=json.dumps(body), headers={"content-type": "application/json"})
        self.assertIs(conn.sock, sock)  # the same connection all three times
        self.assertEqual(self.worker.started.get(timeout=10), "job-k2")
        conn.close()
        self.assertTrue(self.worker.saw_cancel.get(timeout=10))


class DefaultEndpointTest(unittest.TestCase):
    def test_the_default_endpoint_answers_the_root_and_unmatched_names(self) -> None:
        server = create_server(Fallback(), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        try:
            for path, endpoint in (("/", ""), ("/whatever", "whatever")):
                conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=20)
                body = {"data": {"parameters": {"a": 1}}, "context": dict(CONTEXT, endpoint=endpoint)}
                conn.request("POST", path, body=json.dumps(body), headers={"content-type": "application/json"})
                res = conn.getresponse()
                self.assertEqual(res.status, 200)
                self.assertEqual(json.loads(res.read()), {"output": {"endpoint": endpoint, "parameters": {"a": 1}}})
                conn.close()
        finally:
            server.close()

    def test_two_executors_may_not_serve_one_endpoint(self) -> None:
        with self.assertRaises(ValueError):
            create_server([Fallback(), Fallback(metas={"name": "other"})], "127.0.0.1", 0)


if __name__ == "__main__":
    unittest.main()
