"""A small GraphQL client for the control plane, authenticated by the attempt token."""

import json
import urllib.error
import urllib.request
from typing import Any, Dict, Optional


class MarieApiError(Exception):
    """An error the control plane's GraphQL API answered (`code` from its extensions)."""

    def __init__(self, code: str, message: str):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class ApiClient:
    def __init__(self, api_url: Optional[str], token: Optional[str], timeout: float = 30.0):
        self.api_url = api_url
        self.token = token
        self.timeout = timeout

    def request(self, query: str, variables: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """POST the operation; its `data`, or MarieApiError for any error it answers."""
        if not self.api_url:
            raise MarieApiError("NO_API_URL", "the call's context has no apiUrl")
        body = json.dumps({"query": query, "variables": variables or {}}).encode("utf-8")
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self.token:
            headers["authorization"] = "Bearer " + self.token
        req = urllib.request.Request(self.api_url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                raw = res.read()
        except urllib.error.HTTPError as err:
            raw = err.read()
            payload = _json_or_none(raw)
            if not (isinstance(payload, dict) and payload.get("errors")):
                raise MarieApiError("HTTP_%d" % err.code, raw.decode("utf-8", "replace")[:500])
            _raise_first(payload["errors"])
        except urllib.error.URLError as err:
            raise MarieApiError("UNREACHABLE", str(err.reason))
        payload = _json_or_none(raw)
        if not isinstance(payload, dict):
            raise MarieApiError("BAD_RESPONSE", "not a JSON object: %r" % raw[:200])
        if payload.get("errors"):
            _raise_first(payload["errors"])
        return payload.get("data") or {}


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return None


def _raise_first(errors: Any) -> None:
    first = errors[0] if isinstance(errors, list) and errors else {}
    code = ((first.get("extensions") or {}).get("code")) or "INTERNAL_SERVER_ERROR"
    raise MarieApiError(str(code), str(first.get("message") or "GraphQL error"))
