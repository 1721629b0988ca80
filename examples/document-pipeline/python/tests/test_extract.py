"""extract: claims, headers and service lines; what it records; the ocr task's state it reads."""

import json
import os
import unittest

from marie_cp import NonRetryableError, compute_asset_version

from extract_executor import ExtractExecutor, extract_fields
from pipeline_common import js_length
from tests.support import OCR_VERSION, SAMPLE_CLAIMS, SAMPLE_TEXT, PipelineCase, read_uri


class ExtractFieldsTest(unittest.TestCase):
    def test_claims_headers_and_service_lines(self) -> None:
        got = extract_fields(SAMPLE_TEXT)
        self.assertEqual(got["claims"], SAMPLE_CLAIMS)
        self.assertEqual(
            got["headers"],
            {"Provider": "Acme Medical Group", "Payer": "Blue River Health", "Date": "2025-01-15", "Form": "CMS-1500"},
        )
        self.assertEqual(
            got["serviceLines"],
            [
                {"code": "99213", "date": "2025-01-10", "description": "Office visit", "amount": 80},
                {"code": "85025", "date": "2025-01-10", "description": "Blood count", "amount": 40},
                {"code": "71046", "date": "2025-01-12", "description": "Chest X-ray", "amount": 89.5},
            ],
        )
        # Whole amounts are ints, so the JSON is JSON.stringify's: "amount":120, not 120.0.
        self.assertIsInstance(got["claims"][0]["amount"], int)

    def test_claim_numbers_with_hash_and_any_case(self) -> None:
        got = extract_fields("CLAIM #77 patient Al Bo amount $1,000.10\nNote: Paid: yes")
        self.assertEqual(got["claims"], [{"claimId": "77", "patient": "Al Bo", "amount": 1000.1}])
        self.assertEqual(got["headers"], {"Note": "Paid: yes"})

    def test_lengths_count_utf16_units_as_javascript(self) -> None:
        self.assertEqual(js_length("a\U0001F600"), 3)


class ExtractExecutorTest(PipelineCase):
    def test_records_four_assets_from_ocr_text_and_reads_the_ocr_tasks_state(self) -> None:
        # What the ocr task stored at its try 2 (its latest), which extract reads with from_task.
        self.api.state[("ocr", 1)] = {"ocr_summary": {"documents": ["claim-1"], "pageCount": 1, "wordCount": 3}}
        self.api.state[("ocr", 2)] = {"ocr_summary": {"documents": ["claim-1"], "pageCount": 2, "wordCount": 60}}
        ex = ExtractExecutor(metas={"name": "extract"})
        out = ex.extract(self.ctx(ex, "extract"))
        self.assertEqual(out["claims"], SAMPLE_CLAIMS)
        self.assertEqual((out["totalAmount"], out["pageCount"]), (1460.25, 2))
        self.assertEqual(self.api.reads, [{"dagId": "dag-1", "taskId": "ocr", "tryNumber": None}])

        self.assertEqual(len(self.api.recorded), 1)
        sent = self.api.recorded[0]
        self.assertEqual((sent["dagId"], sent["nodeTaskId"], sent["jobId"], sent["tryNumber"]), ("dag-1", "extract", "job-extract", 1))
        self.assertEqual(
            [(a["assetKey"], a["kind"]) for a in sent["assets"]],
            [("extract/claims", "json"), ("extract/headers", "json"), ("extract/service_lines", "table"), ("extract/metadata", "metadata")],
        )
        self.assertEqual(sent["upstreamAssets"], [{"assetKey": "ocr/text", "version": OCR_VERSION, "partitionKey": None}])
        claims, headers, lines, meta = sent["assets"]
        claims_bytes = read_uri(claims["uri"])
        self.assertEqual(
            claims_bytes,
            b'[{"claimId":"12345","patient":"Jane Doe","amount":120},{"claimId":"12346","patient":"John Smith","amount":89.5},'
            b'{"claimId":"12347","patient":"Ana Lopez","amount":1250.75}]',
        )
        self.assertEqual(claims["version"], compute_asset_version(claims_bytes, "marie-examples:extract@1", "claims-regex-v1", [OCR_VERSION]))
        self.assertEqual(claims["metadata"], {"claimCount": 3, "totalAmount": 1460.25})
        self.assertEqual(claims["checksum"][:7], "sha256:")
        self.assertEqual(claims["sizeBytes"], str(len(claims_bytes)))
        self.assertEqual(headers["version"], compute_asset_version(read_uri(headers["uri"]), "marie-examples:extract@1", None, [OCR_VERSION]))
        self.assertEqual(lines["metadata"], {"lineCount": 3})
        self.assertEqual(
            json.loads(read_uri(meta["uri"])),
            {"sourceVersion": OCR_VERSION, "characters": len(SAMPLE_TEXT), "claimCount": 3, "totalAmount": 1460.25, "pageCount": 2},
        )
        self.assertEqual(out["assets"], [{"assetKey": a["assetKey"], "version": a["version"], "uri": a["uri"]} for a in sent["assets"]])

    def test_without_ocr_state_the_page_count_is_null(self) -> None:
        ex = ExtractExecutor()
        out = ex.extract(self.ctx(ex, "extract"))
        self.assertIsNone(out["pageCount"])
        self.assertIsNone(json.loads(read_uri(out["assets"][3]["uri"]))["pageCount"])

    def test_an_upstream_uri_outside_the_storage_is_refused(self) -> None:
        outside = os.path.join(self.dir, "elsewhere.txt")
        with open(outside, "w") as f:
            f.write(SAMPLE_TEXT)
        ex = ExtractExecutor()
        upstream = [dict(self.upstream()[0], uri="file://" + outside)]
        with self.assertRaises(ValueError) as cm:
            ex.extract(self.ctx(ex, "extract", upstream=upstream))
        self.assertIn("lies outside the storage", str(cm.exception))
        self.assertEqual(self.api.recorded, [])

    def test_missing_ocr_text_fails_without_retry(self) -> None:
        ex = ExtractExecutor()
        other = [{"assetKey": "ocr/bboxes", "version": "v:sha256:cc", "partitionKey": None, "uri": self.ocr_uri, "nodeTaskId": "ocr"}]
        with self.assertRaises(NonRetryableError) as cm:
            ex.extract(self.ctx(ex, "extract", upstream=other))
        self.assertEqual(str(cm.exception), 'upstream asset "ocr/text" with a uri is missing for task "extract"')
        self.assertEqual(self.api.recorded, [])


if __name__ == "__main__":
    unittest.main()
