"""What a handler receives for one call: the attempt's context, task state and assets."""

import threading
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from .api_client import ApiClient

_NOT_GIVEN = object()

_STATE_QUERY = """query($dagId: ID!, $taskId: String!, $tryNumber: Int) {
  taskState(dagId: $dagId, taskId: $taskId, tryNumber: $tryNumber) { key value tryNumber }
}"""

_SET_STATE = """mutation($input: SetTaskStateInput!) {
  setTaskState(input: $input) { key tryNumber }
}"""

_RECORD = """mutation($input: RecordMaterializationsInput!) {
  recordMaterializations(input: $input) { materializations { id assetKey } alreadyRecorded }
}"""

# The seed's (Marie-AI AssetTracker) asset fields, snake_case, and the contract's names.
_ASSET_FIELDS = {
    "asset_key": "assetKey",
    "version": "version",
    "kind": "kind",
    "size_bytes": "sizeBytes",
    "checksum": "checksum",
    "uri": "uri",
    "metadata": "metadata",
    "partition_key": "partitionKey",
    "code_fingerprint": "codeFingerprint",
    "prompt_fingerprint": "promptFingerprint",
}

UpstreamRef = Union[Tuple[str, str, Optional[str]], Sequence[Any], Dict[str, Any]]


class TaskState:
    """The seed's RunContext over GraphQL: this attempt's key/value state, shared with
    the other tasks of its DAG run (`setTaskState` / `taskState`)."""

    def __init__(self, api: ApiClient, dag_id: str, task_id: str, try_number: int):
        self._api = api
        self._dag_id = dag_id
        self._task_id = task_id
        self._try = try_number

    def set(self, key: str, value: Any, metadata: Optional[Dict[str, Any]] = None) -> None:
        """Store `value` under `key` for this attempt (overwrites)."""
        self._api.request(
            _SET_STATE,
            {
                "input": {
                    "dagId": self._dag_id,
                    "taskId": self._task_id,
                    "tryNumber": self._try,
                    "key": key,
                    "value": value,
                    "metadata": metadata,
                }
            },
        )

    def push(self, key: str, value: Any, metadata: Optional[Dict[str, Any]] = None) -> None:
        """The seed's xcom-style write: the same as `set`."""
        self.set(key, value, metadata=metadata)

    def get(self, key: str, from_task: Optional[str] = None, default: Any = None) -> Any:
        """This attempt's value of `key`, or with `from_task` that task's latest try
        holding it; else `default`."""
        found = self._find(key, from_task)
        return default if found is _NOT_GIVEN else found

    def pull(
        self,
        key: str,
        from_task: Optional[str] = None,
        from_tasks: Optional[Sequence[str]] = None,
        default: Any = None,
    ) -> Any:
        """Like `get`; with `from_tasks`, the first task in list order whose latest try holds the key."""
        if from_task is not None and from_tasks is not None:
            raise ValueError("give from_task or from_tasks, not both")
        if not from_tasks:
            return self.get(key, from_task=from_task, default=default)
        for task in from_tasks:
            found = self._find(key, task)
            if found is not _NOT_GIVEN:
                return found
        return default

    def _entries(self, task_id: str, try_number: Optional[int]) -> List[Dict[str, Any]]:
        data = self._api.request(
            _STATE_QUERY, {"dagId": self._dag_id, "taskId": task_id, "tryNumber": try_number}
        )
        return data.get("taskState") or []

    def _find(self, key: str, from_task: Optional[str]) -> Any:
        if from_task is None:
            return _value_of(self._entries(self._task_id, self._try), key)
        # Without a try the API lists the latest try that holds anything; go back from it
        # until a try holds this key.
        entries = self._entries(from_task, None)
        found = _value_of(entries, key)
        if found is not _NOT_GIVEN or not entries:
            return found
        for n in range(int(entries[0].get("tryNumber") or 0) - 1, -1, -1):
            found = _value_of(self._entries(from_task, n), key)
            if found is not _NOT_GIVEN:
                return found
        return _NOT_GIVEN


def _value_of(entries: List[Dict[str, Any]], key: str) -> Any:
    for e in entries:
        if e.get("key") == key:
            return e.get("value")
    return _NOT_GIVEN


def _asset_input(asset: Dict[str, Any]) -> Dict[str, Any]:
    out = {}
    for name, value in asset.items():
        field = _ASSET_FIELDS.get(name)
        if field is None:
            raise ValueError("unknown asset field %r (known: %s)" % (name, ", ".join(_ASSET_FIELDS)))
        if value is not None:
            out[field] = str(value) if field == "sizeBytes" else value
    return out


def _upstream_input(ref: UpstreamRef) -> Dict[str, Any]:
    if isinstance(ref, dict):
        key = ref.get("asset_key", ref.get("assetKey"))
        part = ref.get("partition_key", ref.get("partitionKey"))
        return {"assetKey": key, "version": ref["version"], "partitionKey": part}
    key, version = ref[0], ref[1]
    return {"assetKey": key, "version": version, "partitionKey": ref[2] if len(ref) > 2 else None}


class Assets:
    """The seed's AssetTracker bound to this call's DAG node and attempt."""

    def __init__(self, ctx: "CallContext"):
        self._ctx = ctx

    def upstream(self) -> List[Dict[str, Any]]:
        """The latest materializations this node's upstream nodes recorded in this DAG."""
        return self._ctx.upstream()

    def record_materializations(
        self,
        storage_event_id: Optional[Union[int, str]] = None,
        assets: Sequence[Dict[str, Any]] = (),
        job_id: Optional[str] = None,
        dag_id: Optional[str] = None,
        node_task_id: Optional[str] = None,
        partition_key: Optional[str] = None,
        upstream_assets: Optional[Sequence[UpstreamRef]] = None,
        try_number: Optional[int] = None,
    ) -> List[Tuple[str, str]]:
        """Record `assets` (dicts with the seed's keys: asset_key, version, kind, size_bytes,
        checksum, uri, metadata, partition_key, code_fingerprint, prompt_fingerprint) made
        from `upstream_assets` ((asset_key, version, partition_key) tuples). Job, DAG, node
        and try default to this call's. Returns [(materialization id, asset key)]."""
        ctx = self._ctx
        payload = {
            "storageEventId": None if storage_event_id is None else str(storage_event_id),
            "jobId": job_id if job_id is not None else ctx.job_id,
            "tryNumber": try_number if try_number is not None else ctx.try_number,
            "dagId": dag_id if dag_id is not None else ctx.dag_id,
            "nodeTaskId": node_task_id if node_task_id is not None else ctx.task_id,
            "partitionKey": partition_key if partition_key is not None else ctx.partition_key,
            "assets": [_asset_input(a) for a in assets],
            "upstreamAssets": [_upstream_input(u) for u in (upstream_assets or [])],
        }
        data = ctx.api.request(_RECORD, {"input": payload})
        mats = (data.get("recordMaterializations") or {}).get("materializations") or []
        return [(m.get("id"), m.get("assetKey")) for m in mats]


class CallContext:
    """One call's context: the `context` object of the request, plus the attempt's
    cancellation, progress, task state (`state`) and asset tracker (`assets`)."""

    def __init__(
        self,
        context: Dict[str, Any],
        token: Optional[str],
        executor: Any = None,
        on_progress: Optional[Callable[[float, Optional[str]], None]] = None,
        cancelled: Optional[threading.Event] = None,
    ):
        self.raw = dict(context)
        self.tenant_id = context.get("tenantId")
        self.dag_id = context.get("dagId")
        self.dag_name = context.get("dagName")
        self.job_id = context.get("jobId")
        self.task_id = context.get("taskId")
        self.try_number = context.get("tryNumber")
        self.partition_key = context.get("partitionKey")
        self.endpoint = context.get("endpoint")
        self.deadline = context.get("deadline")
        self.api_url = context.get("apiUrl")
        self.token = token
        self.executor = executor
        self.cancelled = cancelled or threading.Event()
        self._on_progress = on_progress
        self._upstream = list(context.get("upstream") or [])
        self.api = ApiClient(self.api_url, token)
        self.state = TaskState(self.api, self.dag_id, self.task_id, self.try_number)
        self.assets = Assets(self)

    def upstream(self) -> List[Dict[str, Any]]:
        """The context's `upstream` list: UpstreamAsset objects (assetKey, version,
        partitionKey, uri, nodeTaskId)."""
        return [dict(u) for u in self._upstream]

    def progress(self, percent: float, message: Optional[str] = None) -> None:
        """Report progress (0 to 100); the answer becomes an NDJSON stream."""
        if self._on_progress is not None:
            self._on_progress(float(percent), message)

    def persist(self, outputs: Sequence[Dict[str, Any]], storage_url: Optional[str] = None) -> Dict[str, Any]:
        """Write outputs to storage and record them as materializations: see marie_cp.storage.persist."""
        from .storage import persist

        return persist(self, outputs, storage_url=storage_url)
