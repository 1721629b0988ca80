"""`extract` in Python: the port of examples/document-pipeline/executors/extract.executor.ts
(same endpoint, inputs, outputs, asset keys, materialization fields and versions)."""

import re
from typing import Any, Dict, List

from marie_cp import Executor, requests

from pipeline_common import js_length, js_number, read_text, ref_of, require_upstream, round2

# The TypeScript patterns; \d and \w spelled out, as JavaScript's match ASCII only.
CLAIM = re.compile(r"\bClaim\s+#?([0-9]+)\s+Patient\s+(.+?)\s+Amount\s+\$([0-9,]+\.[0-9]{2})", re.I)
SERVICE = re.compile(
    r"^\s*Service\s+([A-Za-z0-9_]+)\s+([0-9]{4}-[0-9]{2}-[0-9]{2})\s+(.+?)\s+\$([0-9,]+\.[0-9]{2})\s*$",
    re.I | re.M,
)
HEADER = re.compile(r"^\s*([A-Z][A-Za-z ]{1,30}):\s+(.+?)\s*$", re.M)

# What the ocr task keeps in its task state (RunContext) for the tasks after it.
OCR_SUMMARY_KEY = "ocr_summary"


def _amount(s: str) -> Any:
    return js_number(float(s.replace(",", "")))


def extract_fields(text: str) -> Dict[str, Any]:
    """{claims, headers, serviceLines} out of OCR text."""
    claims = [{"claimId": m[1], "patient": m[2], "amount": _amount(m[3])} for m in CLAIM.finditer(text)]
    service_lines = [
        {"code": m[1], "date": m[2], "description": m[3], "amount": _amount(m[4])} for m in SERVICE.finditer(text)
    ]
    headers: Dict[str, str] = {}
    for m in HEADER.finditer(text):
        headers[m[1].strip()] = m[2]
    return {"claims": claims, "headers": headers, "serviceLines": service_lines}


class ExtractExecutor(Executor):
    """Claims, headers and service lines. Reads the OCR text through the uri of the ocr/text
    materialization that the upstream look-up gives it, and the page count the ocr task kept
    in its task state. Records extract/claims, extract/headers, extract/service_lines and
    extract/metadata."""

    code_fingerprint = "marie-examples:extract@1"
    prompt_fingerprint = "claims-regex-v1"

    @requests(on="/extract")
    def extract(self, ctx: Any) -> Dict[str, Any]:
        text_asset = require_upstream(ctx, "ocr/text")
        text = read_text(ctx, text_asset)
        result = extract_fields(text)
        # The seed's RunContext read: what the task that recorded ocr/text stored.
        summary = ctx.state.get(OCR_SUMMARY_KEY, from_task=text_asset["nodeTaskId"]) if text_asset.get("nodeTaskId") else None
        page_count = summary.get("pageCount") if isinstance(summary, dict) else None
        upstream = [ref_of(text_asset)]
        total = 0
        for c in result["claims"]:
            total += c["amount"]
        total = round2(total)
        persisted = ctx.persist(
            [
                {
                    "asset_key": "extract/claims",
                    "data": result["claims"],
                    "kind": "json",
                    "upstream": upstream,
                    "metadata": {"claimCount": len(result["claims"]), "totalAmount": total},
                },
                {
                    "asset_key": "extract/headers",
                    "data": result["headers"],
                    "kind": "json",
                    "upstream": upstream,
                    "prompt_fingerprint": None,
                },
                {
                    "asset_key": "extract/service_lines",
                    "data": result["serviceLines"],
                    "kind": "table",
                    "upstream": upstream,
                    "prompt_fingerprint": None,
                    "metadata": {"lineCount": len(result["serviceLines"])},
                },
                {
                    "asset_key": "extract/metadata",
                    "data": {
                        "sourceVersion": text_asset["version"],
                        "characters": js_length(text),
                        "claimCount": len(result["claims"]),
                        "totalAmount": total,
                        "pageCount": page_count,
                    },
                    "kind": "metadata",
                    "upstream": upstream,
                    "prompt_fingerprint": None,
                },
            ]
        )
        assets: List[Dict[str, Any]] = [
            {"assetKey": a["asset_key"], "version": a["version"], "uri": a["uri"]} for a in persisted["assets"]
        ]
        return {**result, "totalAmount": total, "pageCount": page_count, "assets": assets}
