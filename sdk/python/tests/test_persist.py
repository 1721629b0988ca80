"""persist(): file:// storage, checksum, size, uri, version, one recorded batch."""

import hashlib
import os
import tempfile
import unittest
import urllib.parse
import urllib.request

from marie_cp import CallContext, Executor, compute_asset_version
from tests.fake_graphql import TOKEN, FakeGraphQL

UPSTREAM = [
    {"assetKey": "src/image", "version": "v:sha256:bb", "partitionKey": None, "uri": None, "nodeTaskId": "load"},
    {"assetKey": "src/meta", "version": "v:sha256:aa", "partitionKey": "p1", "uri": None, "nodeTaskId": "load"},
]


class Ocr(Executor):
    code_fingerprint = "git:abcd1234"
    prompt_fingerprint = "craft-ocr-v2"


def ctx_for(api_url: str, executor: Executor) -> CallContext:
    return CallContext(
        {
            "tenantId": "t1",
            "dagId": "dag-1",
            "dagName": "docs",
            "jobId": "job-1",
            "taskId": "ocr",
            "tryNumber": 1,
            "partitionKey": "2026/01",
            "apiUrl": api_url,
            "upstream": UPSTREAM,
        },
        TOKEN,
        executor=executor,
    )


class PersistTest(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeGraphQL()
        self.addCleanup(self.api.close)
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.url = "file://" + self.dir.name

    def test_writes_versions_and_records_in_one_call(self) -> None:
        ctx = ctx_for(self.api.url, Ocr())
        out = ctx.persist(
            [
                {"asset_key": "ocr/text", "data": "Hello World", "metadata": {"lang": "en"}},
                {"asset_key": "ocr/boxes", "data": {"boxes": [1, 2]}, "upstream": [], "prompt_fingerprint": None},
                {"asset_key": "ocr/raw", "data": b"\x00\x01", "kind": "blob"},
            ],
            storage_url=self.url,
        )
        text, boxes, raw = out["assets"]
        path = urllib.request.url2pathname(urllib.parse.urlparse(text["uri"]).path)
        self.assertEqual(path, os.path.join(self.dir.name, "t1", "dag-1", "ocr", "1", "ocr", "text@2026%2F01.txt"))
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"Hello World")
        self.assertEqual(text["size_bytes"], 11)
        self.assertEqual(text["checksum"], "sha256:" + hashlib.sha256(b"Hello World").hexdigest())
        self.assertEqual(
            text["version"],
            compute_asset_version(b"Hello World", "git:abcd1234", "craft-ocr-v2", ["v:sha256:bb", "v:sha256:aa"]),
        )
        self.assertEqual(text["kind"], "text")
        self.assertEqual((boxes["kind"], boxes["size_bytes"]), ("json", len(b'{"boxes":[1,2]}')))
        self.assertEqual(boxes["version"], compute_asset_version(b'{"boxes":[1,2]}', "git:abcd1234", None, []))
        self.assertEqual((raw["kind"], raw["size_bytes"]), ("blob", 2))
        self.assertTrue(raw["uri"].endswith("/ocr/raw@2026%252F01.bin"))

        self.assertEqual(out["record"], {"ok": True, "materializations": [("100", "ocr/text"), ("101", "ocr/boxes"), ("102", "ocr/raw")]})
        self.assertEqual(len(self.api.requests), 1)
        sent = self.api.requests[0]["variables"]["input"]
        self.assertEqual((sent["dagId"], sent["nodeTaskId"], sent["jobId"], sent["tryNumber"]), ("dag-1", "ocr", "job-1", 1))
        self.assertEqual(
            sent["assets"][0],
            {
                "assetKey": "ocr/text",
                "version": text["version"],
                "kind": "text",
                "sizeBytes": "11",
                "checksum": text["checksum"],
                "uri": text["uri"],
                "metadata": {"lang": "en"},
                "partitionKey": "2026/01",
                "codeFingerprint": "git:abcd1234",
                "promptFingerprint": "craft-ocr-v2",
            },
        )
        self.assertNotIn("promptFingerprint", sent["assets"][1])
        self.assertEqual(
            sent["upstreamAssets"],
            [
                {"assetKey": "src/image", "version": "v:sha256:bb", "partitionKey": None},
                {"assetKey": "src/meta", "version": "v:sha256:aa", "partitionKey": "p1"},
            ],
        )

    def test_a_recording_error_does_not_raise(self) -> None:
        ctx = CallContext(dict(ctx_for(self.api.url, Ocr()).raw), "mat_wrong.sig", executor=Ocr())
        out = ctx.persist([{"asset_key": "a", "data": "x"}], storage_url=self.url)
        self.assertFalse(out["record"]["ok"])
        self.assertIn("UNAUTHENTICATED", out["record"]["error"])
        self.assertEqual(out["assets"][0]["size_bytes"], 1)

    def test_the_storage_url_defaults_to_the_env(self) -> None:
        os.environ["MARIE_STORAGE_URL"] = self.url
        try:
            out = ctx_for(self.api.url, Ocr()).persist([{"asset_key": "a", "data": "x"}])
        finally:
            del os.environ["MARIE_STORAGE_URL"]
        self.assertTrue(out["assets"][0]["uri"].startswith("file://" + self.dir.name))

    def test_only_file_urls(self) -> None:
        with self.assertRaises(ValueError):
            ctx_for(self.api.url, Ocr()).persist([{"asset_key": "a", "data": "x"}], storage_url="s3://b/p")


if __name__ == "__main__":
    unittest.main()
