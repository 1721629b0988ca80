"""What the example's tests share: the OCR text of the sample claims document (as the
TypeScript ocr executor writes it for examples/document-pipeline/generate-document.ts),
stored as an ocr/text materialization, and call contexts bound to a FakeControlPlane."""

import os
import tempfile
import unittest
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional

from marie_cp import CallContext, Executor, compute_asset_version
from marie_cp.testing import TOKEN, FakeControlPlane

SAMPLE_TEXT = "\n".join(
    [
        "HEALTH INSURANCE CLAIM FORM",
        "Provider: Acme Medical Group",
        "Payer: Blue River Health",
        "Date: 2025-01-15",
        "Form: CMS-1500",
        "",
        "Claim 12345 Patient Jane Doe Amount $120.00",
        "Claim 12346 Patient John Smith Amount $89.50",
        "\f",
        "SERVICE LINES",
        "Service 99213 2025-01-10 Office visit $80.00",
        "Service 85025 2025-01-10 Blood count $40.00",
        "Service 71046 2025-01-12 Chest X-ray $89.50",
        "",
        "Claim 12347 Patient Ana Lopez Amount $1,250.75",
        "End of claim form",
    ]
)

SAMPLE_CLAIMS = [
    {"claimId": "12345", "patient": "Jane Doe", "amount": 120},
    {"claimId": "12346", "patient": "John Smith", "amount": 89.5},
    {"claimId": "12347", "patient": "Ana Lopez", "amount": 1250.75},
]

OCR_VERSION = compute_asset_version(SAMPLE_TEXT.encode("utf-8"), "marie-examples:ocr@1", "ocr-prompt", ["v:sha256:aa"])


def read_uri(uri: str) -> bytes:
    with open(urllib.request.url2pathname(urllib.parse.urlparse(uri).path), "rb") as f:
        return f.read()


class PipelineCase(unittest.TestCase):
    """A temporary storage holding ocr/text, and a FakeControlPlane."""

    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = tmp.name
        self.storage_url = "file://" + os.path.join(self.dir, "storage")
        self.api = FakeControlPlane()
        self.addCleanup(self.api.close)
        self.ocr_uri = self.write_ocr_text(SAMPLE_TEXT)

    def write_ocr_text(self, text: str) -> str:
        path = os.path.join(self.dir, "storage", "t1", "dag-1", "ocr", "1", "ocr", "text.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(text.encode("utf-8"))
        return "file://" + urllib.parse.quote(path)

    def upstream(self) -> List[Dict[str, Any]]:
        return [
            {"assetKey": "ocr/text", "version": OCR_VERSION, "partitionKey": None, "uri": self.ocr_uri, "nodeTaskId": "ocr"}
        ]

    def ctx(self, executor: Executor, task_id: str, upstream: Optional[List[Dict[str, Any]]] = None) -> CallContext:
        executor.storage_url = self.storage_url  # type: ignore[attr-defined]
        return CallContext(
            {
                "tenantId": "t1",
                "dagId": "dag-1",
                "dagName": "claims-pipeline",
                "jobId": "job-" + task_id,
                "taskId": task_id,
                "tryNumber": 1,
                "partitionKey": None,
                "endpoint": "/" + task_id,
                "apiUrl": self.api.url,
                "upstream": self.upstream() if upstream is None else upstream,
            },
            TOKEN,
            executor=executor,
        )
