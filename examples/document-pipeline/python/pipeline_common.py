"""What the Python ports of classify and extract share: the Python twin of
examples/document-pipeline/executors/common.ts, plus the few JavaScript number and
string rules the ports follow so that they write the very bytes (hence the very asset
versions) the TypeScript executors write."""

import math
import os
import urllib.parse
import urllib.request
from typing import Any, Dict

from marie_cp import FileStorage, NonRetryableError
from marie_cp.storage import default_storage_url


def require_upstream(ctx: Any, asset_key: str) -> Dict[str, Any]:
    """The latest upstream materialization of `asset_key` (with a uri), or a non-retryable
    failure naming it."""
    found = next((u for u in ctx.upstream() if u.get("assetKey") == asset_key), None)
    if not found or not found.get("uri"):
        raise NonRetryableError(
            'upstream asset "%s" with a uri is missing for task "%s"' % (asset_key, ctx.task_id)
        )
    return found


def ref_of(u: Dict[str, Any]) -> Dict[str, Any]:
    """An upstream reference (what persist() takes) from an UpstreamAsset."""
    return {"asset_key": u["assetKey"], "version": u["version"], "partition_key": u.get("partitionKey")}


def read_uri(uri: str, storage_url: str) -> bytes:
    """The bytes a materialization's `file://` uri names, which must lie in the storage
    (`storage_url`), as the TypeScript storage's get() requires."""
    if not uri.startswith("file://"):
        raise NonRetryableError('cannot read "%s": the Python executors read file:// uris' % uri)
    root = FileStorage(storage_url).root
    path = os.path.abspath(urllib.request.url2pathname(urllib.parse.urlparse(uri).path))
    if os.path.commonpath([root, path]) != root:
        raise ValueError("%s lies outside the storage %s" % (uri, storage_url))
    with open(path, "rb") as f:
        return f.read()


def read_text(ctx: Any, u: Dict[str, Any]) -> str:
    """The text of an upstream materialization, read from the call's storage."""
    return read_uri(u["uri"], default_storage_url(ctx.executor)).decode("utf-8")


def js_number(x: Any) -> Any:
    """A float as JSON.stringify writes it: whole numbers without a fraction (120, not 120.0)."""
    if isinstance(x, float) and math.isfinite(x) and x.is_integer():
        return int(x)
    return x


def round2(x: float) -> Any:
    """Math.round(x * 100) / 100 (half up, unlike Python's round)."""
    return js_number(math.floor(x * 100 + 0.5) / 100)


def js_length(text: str) -> int:
    """String.prototype.length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2

