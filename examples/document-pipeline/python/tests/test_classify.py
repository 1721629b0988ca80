"""classify: keyword scores, the assets it records, their bytes and versions."""

import json
import unittest

from marie_cp import NonRetryableError, compute_asset_version

from classify_executor import ClassifyExecutor, classify_text
from pipeline_common import round2
from tests.support import OCR_VERSION, SAMPLE_TEXT, PipelineCase, read_uri


class ClassifyTextTest(unittest.TestCase):
    def test_scores_the_claims_document(self) -> None:
        self.assertEqual(
            classify_text(SAMPLE_TEXT),
            {
                "documentType": "claim_form",
                "confidence": 1,
                "alternatives": [
                    {"documentType": "medical_record", "confidence": 0.25},
                    {"documentType": "invoice", "confidence": 0.2},
                ],
            },
        )

    def test_unknown_without_evidence(self) -> None:
        self.assertEqual(classify_text("nothing here"), {"documentType": "unknown", "confidence": 0, "alternatives": []})

    def test_ties_go_by_name_and_scores_round_half_up_as_javascript(self) -> None:
        # invoice 2/5 = 0.4 beats claim_form 1/6 = 0.17; claim_form 2/6 and correspondence 1/3 tie at 0.33.
        self.assertEqual(classify_text("Invoice, amount")["documentType"], "invoice")
        tie = classify_text("Claim, patient. Dear")
        self.assertEqual((tie["documentType"], tie["confidence"]), ("claim_form", 0.33))
        self.assertEqual([a["documentType"] for a in tie["alternatives"]], ["correspondence", "medical_record"])
        self.assertEqual(round2(0.125), 0.13)  # Python's round() gives 0.12
        self.assertEqual(round2(2 / 3), 0.67)
        self.assertIsInstance(round2(1.0), int)


class ClassifyExecutorTest(PipelineCase):
    def test_records_type_scores_and_alternatives_with_lineage_from_ocr_text(self) -> None:
        ex = ClassifyExecutor(metas={"name": "classify"})
        out = ex.classify(self.ctx(ex, "classify"))
        self.assertEqual((out["documentType"], out["confidence"]), ("claim_form", 1))
        self.assertEqual(len(self.api.recorded), 1)
        sent = self.api.recorded[0]
        self.assertEqual(
            [(a["assetKey"], a["kind"]) for a in sent["assets"]],
            [("classify/document_type", "classification"), ("classify/confidence_scores", "metadata"), ("classify/alternatives", "json")],
        )
        self.assertEqual(sent["upstreamAssets"], [{"assetKey": "ocr/text", "version": OCR_VERSION, "partitionKey": None}])
        doc_type, scores, alternatives = sent["assets"]
        # The bytes JSON.stringify writes (1, not 1.0), so versions match the TypeScript executor's.
        self.assertEqual(read_uri(doc_type["uri"]), b'{"documentType":"claim_form","confidence":1}')
        self.assertEqual(
            doc_type["version"],
            compute_asset_version(b'{"documentType":"claim_form","confidence":1}', "marie-examples:classify@1", "keyword-rules-v1", [OCR_VERSION]),
        )
        self.assertEqual(doc_type["metadata"], {"documentType": "claim_form", "confidence": 1})
        self.assertEqual(doc_type["promptFingerprint"], "keyword-rules-v1")
        self.assertIsNone(scores.get("promptFingerprint"))
        self.assertEqual(scores["version"], compute_asset_version(b'{"confidence":1}', "marie-examples:classify@1", None, [OCR_VERSION]))
        self.assertEqual(alternatives["metadata"], {"alternativeCount": 2})
        self.assertEqual(json.loads(read_uri(alternatives["uri"])), out["alternatives"])
        self.assertEqual(out["assets"], [{"assetKey": a["assetKey"], "version": a["version"]} for a in sent["assets"]])

    def test_confidence_scores_only_at_or_above_the_threshold(self) -> None:
        self.ocr_uri = self.write_ocr_text("Claim for patient")  # claim_form 2/6 = 0.33
        ex = ClassifyExecutor(confidence_threshold=0.34)
        ex.classify(self.ctx(ex, "classify"))
        ex = ClassifyExecutor(confidence_threshold=0.33)
        ex.classify(self.ctx(ex, "classify"))
        keys = [[a["assetKey"] for a in r["assets"]] for r in self.api.recorded]
        self.assertEqual(
            keys,
            [
                ["classify/document_type", "classify/alternatives"],
                ["classify/document_type", "classify/confidence_scores", "classify/alternatives"],
            ],
        )

    def test_a_bad_threshold_is_refused(self) -> None:
        for bad in (1.5, -0.1, "0.8", True):
            with self.assertRaises(ValueError):
                ClassifyExecutor(confidence_threshold=bad)

    def test_missing_ocr_text_fails_without_retry(self) -> None:
        ex = ClassifyExecutor()
        with self.assertRaises(NonRetryableError) as cm:
            ex.classify(self.ctx(ex, "classify", upstream=[]))
        self.assertEqual(str(cm.exception), 'upstream asset "ocr/text" with a uri is missing for task "classify"')
        self.assertEqual(self.api.recorded, [])


if __name__ == "__main__":
    unittest.main()
