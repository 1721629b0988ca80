"""`classify` in Python: the port of examples/document-pipeline/executors/classify.executor.ts
(same endpoint, inputs, outputs, asset keys, materialization fields and versions)."""

from typing import Any, Dict, List

from marie_cp import Executor, requests

from pipeline_common import read_text, ref_of, require_upstream, round2

# Keyword evidence for each document type; the score is the share of its keywords present.
TYPES: Dict[str, List[str]] = {
    "claim_form": ["claim", "patient", "amount", "provider", "payer", "service"],
    "invoice": ["invoice", "bill to", "total due", "due date", "amount"],
    "medical_record": ["diagnosis", "patient", "history", "medication"],
    "correspondence": ["dear", "sincerely", "regards"],
}


def classify_text(text: str) -> Dict[str, Any]:
    """{documentType, confidence, alternatives} by keyword evidence, best first."""
    lower = text.lower()
    scored = [
        {"documentType": doc_type, "confidence": round2(sum(1 for w in words if w in lower) / len(words))}
        for doc_type, words in TYPES.items()
    ]
    scored.sort(key=lambda s: (-s["confidence"], s["documentType"]))
    best = scored[0]
    if best["confidence"] == 0:
        return {"documentType": "unknown", "confidence": 0, "alternatives": []}
    return {**best, "alternatives": [s for s in scored[1:] if s["confidence"] > 0]}


class ClassifyExecutor(Executor):
    """Document type with a confidence and alternatives, from the upstream ocr/text.
    Records classify/document_type (required), classify/confidence_scores when confident,
    classify/alternatives when there are any."""

    code_fingerprint = "marie-examples:classify@1"
    prompt_fingerprint = "keyword-rules-v1"

    def __init__(self, confidence_threshold: float = 0.8, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(confidence_threshold, bool) or not isinstance(confidence_threshold, (int, float)):
            raise ValueError("confidence_threshold must be a number from 0 to 1")
        if not 0 <= confidence_threshold <= 1:
            raise ValueError("confidence_threshold must be from 0 to 1, not %r" % (confidence_threshold,))
        self.confidence_threshold = confidence_threshold

    @requests(on="/classify")
    def classify(self, ctx: Any) -> Dict[str, Any]:
        text_asset = require_upstream(ctx, "ocr/text")
        result = classify_text(read_text(ctx, text_asset))
        upstream = [ref_of(text_asset)]
        outputs: List[Dict[str, Any]] = [
            {
                "asset_key": "classify/document_type",
                "data": {"documentType": result["documentType"], "confidence": result["confidence"]},
                "kind": "classification",
                "upstream": upstream,
                "metadata": {"documentType": result["documentType"], "confidence": result["confidence"]},
            }
        ]
        if result["confidence"] >= self.confidence_threshold:
            outputs.append(
                {
                    "asset_key": "classify/confidence_scores",
                    "data": {"confidence": result["confidence"]},
                    "kind": "metadata",
                    "upstream": upstream,
                    "prompt_fingerprint": None,
                }
            )
        if result["alternatives"]:
            outputs.append(
                {
                    "asset_key": "classify/alternatives",
                    "data": result["alternatives"],
                    "kind": "json",
                    "upstream": upstream,
                    "prompt_fingerprint": None,
                    "metadata": {"alternativeCount": len(result["alternatives"])},
                }
            )
        persisted = ctx.persist(outputs)
        assets = [{"assetKey": a["asset_key"], "version": a["version"]} for a in persisted["assets"]]
        return {**result, "assets": assets}
