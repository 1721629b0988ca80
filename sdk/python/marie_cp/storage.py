"""persist(): the seed's StorageMixin. Write outputs to `file://` storage, version them
and record them as materializations in one call."""

import hashlib
import json
import os
import urllib.parse
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .version import compute_asset_version

# What Node's pathToFileURL leaves as it is in a path (the TypeScript SDK's uris).
_URL_SAFE = "/@!$&'()*+,;=:~-._[]|^"


class FileStorage:
    """A folder named by a `file:///abs/dir` (or `file://./rel/dir`) URL."""

    def __init__(self, url: str):
        if not url.startswith("file://"):
            raise ValueError("unsupported storage URL %r: the Python SDK writes file://<dir>" % (url,))
        rest = url[len("file://") :]
        self.url = url
        self.root = os.path.abspath(urllib.parse.unquote(rest))

    def put(self, key: str, data: bytes) -> Dict[str, Any]:
        path = os.path.abspath(os.path.join(self.root, key))
        if os.path.commonpath([self.root, path]) != self.root:
            raise ValueError("%r lies outside the storage %s" % (key, self.url))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp-%d" % os.getpid()
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
        return {
            "uri": "file://" + urllib.parse.quote(path, safe=_URL_SAFE),
            "size_bytes": len(data),
            "checksum": "sha256:" + hashlib.sha256(data).hexdigest(),
        }


def default_storage_url(executor: Any = None) -> str:
    return (
        getattr(executor, "storage_url", None)
        or os.environ.get("MARIE_STORAGE_URL")
        or "file://" + os.path.abspath(os.path.join(".data", "storage"))
    )


def _encode(data: Any) -> Tuple[bytes, str, str]:
    if isinstance(data, str):
        return data.encode("utf-8"), ".txt", "text"
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data), ".bin", "binary"
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), ".json", "json"


def _ref(u: Any) -> Tuple[str, str, Optional[str]]:
    if isinstance(u, dict):
        return (
            u.get("asset_key", u.get("assetKey")),
            u["version"],
            u.get("partition_key", u.get("partitionKey")),
        )
    return (u[0], u[1], u[2] if len(u) > 2 else None)


def persist(ctx: Any, outputs: Sequence[Dict[str, Any]], storage_url: Optional[str] = None) -> Dict[str, Any]:
    """Write each output ({asset_key, data, kind?, metadata?, code_fingerprint?,
    prompt_fingerprint?, upstream?}) to `{tenant}/{dag}/{task}/{try}/{asset_key}[@partition].{ext}`,
    compute its version (payload = the bytes written), and record them all with ONE
    record_materializations call. A storage error raises (the attempt fails); a recording
    error does not: see the result's `record` ({ok, materializations, error})."""
    executor = getattr(ctx, "executor", None)
    storage = FileStorage(storage_url or default_storage_url(executor))
    base = "/".join([str(ctx.tenant_id or "default"), str(ctx.dag_id), str(ctx.task_id), str(ctx.try_number)])
    suffix = "" if ctx.partition_key is None else "@" + urllib.parse.quote(str(ctx.partition_key), safe="")
    node_upstream = [_ref(u) for u in ctx.upstream()]
    assets: List[Dict[str, Any]] = []
    specs: List[Dict[str, Any]] = []
    lineage: Dict[Tuple[str, str, Optional[str]], Tuple[str, str, Optional[str]]] = {}
    for o in outputs:
        payload, ext, kind = _encode(o["data"])
        upstream = [_ref(u) for u in o["upstream"]] if "upstream" in o else node_upstream
        code = o["code_fingerprint"] if "code_fingerprint" in o else getattr(executor, "code_fingerprint", None)
        prompt = o["prompt_fingerprint"] if "prompt_fingerprint" in o else getattr(executor, "prompt_fingerprint", None)
        stored = storage.put("%s/%s%s%s" % (base, o["asset_key"], suffix, ext), payload)
        version = compute_asset_version(payload, code, prompt, [u[1] for u in upstream])
        kind = o.get("kind") or kind
        assets.append(dict(stored, asset_key=o["asset_key"], version=version, kind=kind))
        specs.append(
            {
                "asset_key": o["asset_key"],
                "version": version,
                "kind": kind,
                "size_bytes": stored["size_bytes"],
                "checksum": stored["checksum"],
                "uri": stored["uri"],
                "metadata": o.get("metadata"),
                "partition_key": ctx.partition_key,
                "code_fingerprint": code,
                "prompt_fingerprint": prompt,
            }
        )
        for u in upstream:
            lineage[u] = u
    if not specs:
        return {"assets": assets, "record": {"ok": True, "materializations": []}}
    try:
        mats = ctx.assets.record_materializations(assets=specs, upstream_assets=list(lineage.values()))
        record: Dict[str, Any] = {"ok": True, "materializations": mats}
    except Exception as err:  # recording never fails the job
        record = {"ok": False, "materializations": [], "error": str(err)}
    return {"assets": assets, "record": record}
