"""ctx.state and ctx.assets.record_materializations as GraphQL calls with the attempt token."""

import unittest

from marie_cp import CallContext, MarieApiError
from tests.fake_graphql import TOKEN, FakeGraphQL


def context(api_url: str, **over: object) -> dict:
    base = {
        "tenantId": "t1",
        "dagId": "dag-1",
        "dagName": "docs",
        "jobId": "job-42",
        "taskId": "extract",
        "tryNumber": 2,
        "partitionKey": "p1",
        "endpoint": "extract",
        "apiUrl": api_url,
        "upstream": [],
    }
    base.update(over)
    return base


class ApiClientTest(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeGraphQL()
        self.addCleanup(self.api.close)
        self.ctx = CallContext(context(self.api.url), TOKEN)

    def test_set_then_get_on_the_own_try_with_the_bearer_token(self) -> None:
        self.ctx.state.set("LINES", ["a", "b"], metadata={"pages": 2})
        self.assertEqual(self.ctx.state.get("LINES"), ["a", "b"])
        first = self.api.requests[0]
        self.assertEqual(first["authorization"], "Bearer " + TOKEN)
        self.assertEqual(first["content_type"], "application/json")
        self.assertIn("setTaskState(input: $input)", first["query"])
        self.assertEqual(
            first["variables"],
            {
                "input": {
                    "dagId": "dag-1",
                    "taskId": "extract",
                    "tryNumber": 2,
                    "key": "LINES",
                    "value": ["a", "b"],
                    "metadata": {"pages": 2},
                }
            },
        )
        self.assertEqual(self.api.requests[1]["variables"], {"dagId": "dag-1", "taskId": "extract", "tryNumber": 2})

    def test_get_of_a_missing_key_is_the_default(self) -> None:
        self.assertIsNone(self.ctx.state.get("NOPE"))
        self.assertEqual(self.ctx.state.get("NOPE", default=7), 7)

    def test_push_and_pull_are_set_and_get(self) -> None:
        self.ctx.state.push("K", {"x": 1})
        self.assertEqual(self.ctx.state.pull("K"), {"x": 1})

    def test_from_task_reads_that_tasks_latest_try_holding_the_key(self) -> None:
        self.api.state[("ocr", 0)] = {"TEXT": "old", "ONLY_FIRST": 1}
        self.api.state[("ocr", 1)] = {"TEXT": "new"}
        self.assertEqual(self.ctx.state.get("TEXT", from_task="ocr"), "new")
        # Latest try holding anything lacks it: an earlier try that holds it.
        self.assertEqual(self.ctx.state.get("ONLY_FIRST", from_task="ocr"), 1)
        self.assertEqual(self.ctx.state.get("NONE", from_task="ocr", default="d"), "d")
        self.assertEqual(self.ctx.state.get("TEXT", from_task="never-ran", default="d"), "d")
        asked = [r["variables"] for r in self.api.requests[:1]]
        self.assertEqual(asked, [{"dagId": "dag-1", "taskId": "ocr", "tryNumber": None}])

    def test_pull_from_tasks_returns_the_first_hit_in_list_order(self) -> None:
        self.api.state[("a", 0)] = {"OTHER": 0}
        self.api.state[("b", 0)] = {"K": "from b"}
        self.api.state[("c", 0)] = {"K": "from c"}
        self.assertEqual(self.ctx.state.pull("K", from_tasks=["a", "c", "b"]), "from c")
        self.assertEqual(self.ctx.state.pull("K", from_tasks=["a", "b", "c"]), "from b")
        self.assertEqual(self.ctx.state.pull("MISSING", from_tasks=["a", "b"], default=[]), [])
        with self.assertRaises(ValueError):
            self.ctx.state.pull("K", from_task="a", from_tasks=["b"])

    def test_graphql_errors_raise_marie_api_error(self) -> None:
        with self.assertRaises(MarieApiError) as caught:
            self.ctx.state.set("stale", 1)
        self.assertEqual(caught.exception.code, "CONFLICT")
        self.assertEqual(caught.exception.message, "the attempt is not current")

    def test_a_wrong_token_is_refused(self) -> None:
        ctx = CallContext(context(self.api.url), "mat_other.sig")
        with self.assertRaises(MarieApiError) as caught:
            ctx.state.get("K")
        self.assertEqual(caught.exception.code, "UNAUTHENTICATED")

    def test_an_unreachable_api_raises_marie_api_error(self) -> None:
        self.api.close()
        with self.assertRaises(MarieApiError) as caught:
            self.ctx.state.get("K")
        self.assertEqual(caught.exception.code, "UNREACHABLE")

    def test_record_materializations_maps_the_seeds_fields_to_the_contract(self) -> None:
        out = self.ctx.assets.record_materializations(
            storage_event_id=12345,
            assets=[
                {
                    "asset_key": "ocr/text",
                    "version": "v:sha256:abc",
                    "kind": "text",
                    "size_bytes": 1024,
                    "checksum": "sha256:00",
                    "uri": "s3://bucket/ocr/text",
                    "metadata": {"language": "en"},
                    "code_fingerprint": "git:1",
                    "prompt_fingerprint": None,
                },
                {"asset_key": "ocr/boxes", "version": "v:sha256:def", "partition_key": "p2"},
            ],
            upstream_assets=[("source/image", "v:sha256:aa", None), {"asset_key": "src/meta", "version": "v:sha256:bb"}],
        )
        self.assertEqual(out, [("100", "ocr/text"), ("101", "ocr/boxes")])
        req = self.api.requests[-1]
        self.assertEqual(req["authorization"], "Bearer " + TOKEN)
        self.assertIn("recordMaterializations(input: $input)", req["query"])
        self.assertEqual(
            req["variables"]["input"],
            {
                "storageEventId": "12345",
                "jobId": "job-42",
                "tryNumber": 2,
                "dagId": "dag-1",
                "nodeTaskId": "extract",
                "partitionKey": "p1",
                "assets": [
                    {
                        "assetKey": "ocr/text",
                        "version": "v:sha256:abc",
                        "kind": "text",
                        "sizeBytes": "1024",
                        "checksum": "sha256:00",
                        "uri": "s3://bucket/ocr/text",
                        "metadata": {"language": "en"},
                        "codeFingerprint": "git:1",
                    },
                    {"assetKey": "ocr/boxes", "version": "v:sha256:def", "partitionKey": "p2"},
                ],
                "upstreamAssets": [
                    {"assetKey": "source/image", "version": "v:sha256:aa", "partitionKey": None},
                    {"assetKey": "src/meta", "version": "v:sha256:bb", "partitionKey": None},
                ],
            },
        )

    def test_record_materializations_refuses_unknown_fields(self) -> None:
        with self.assertRaises(ValueError):
            self.ctx.assets.record_materializations(assets=[{"asset_key": "a", "version": "v", "sizeBytes": 1}])


if __name__ == "__main__":
    unittest.main()
