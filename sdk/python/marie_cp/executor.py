"""Executor base class and the @requests decorator (Marie-AI style)."""

import inspect
from typing import Any, Callable, Dict, List, Optional, Union

DEFAULT_ENDPOINT = None  # the route key of `@requests` without `on`


class NonRetryableError(Exception):
    """Raise it from a handler to fail the attempt without retry (bad parameters...)."""

    non_retryable = True


def normalize_endpoint(path: str) -> str:
    return "/" + path.strip().strip("/")


def requests(func: Optional[Callable] = None, *, on: Optional[Union[str, List[str]]] = None) -> Any:
    """Bind a method to endpoint path(s): `@requests(on='/extract')`, `on=['/a', '/b']`,
    or `@requests` / `@requests()` for the default endpoint (any name nothing else matches)."""

    def mark(fn: Callable) -> Callable:
        paths = None if on is None else [normalize_endpoint(p) for p in ([on] if isinstance(on, str) else on)]
        fn.__marie_requests__ = paths  # type: ignore[attr-defined]
        return fn

    return mark(func) if callable(func) else mark


class Executor:
    """Base class of an executor: methods marked `@requests` are its endpoints. Set
    `code_fingerprint` / `prompt_fingerprint` for asset versions, `code_version` for the
    status route."""

    code_fingerprint: Optional[str] = None
    prompt_fingerprint: Optional[str] = None
    code_version: Optional[str] = None

    def __init__(
        self,
        metas: Optional[Dict[str, Any]] = None,
        runtime_args: Optional[Dict[str, Any]] = None,
        workspace: Optional[str] = None,
        **kwargs: Any,
    ):
        self.metas = dict(metas or {})
        self.runtime_args = dict(runtime_args or {"replica_id": 0, "replicas": 1})
        self.workspace = workspace or self.metas.get("workspace")
        self.name = self.metas.get("name") or type(self).__name__

    def close(self) -> None:
        """Called once when the server stops."""

    def is_healthy(self) -> bool:
        """Reported by GET /_marie/status; override to say a model failed to load."""
        return True

    def routes(self) -> Dict[Optional[str], Callable]:
        """{path or None (default): bound method}."""
        found: Dict[Optional[str], Callable] = {}
        for cls in reversed(type(self).__mro__):
            for attr, fn in vars(cls).items():
                if not hasattr(fn, "__marie_requests__"):
                    continue
                for path in fn.__marie_requests__ or [DEFAULT_ENDPOINT]:
                    found[path] = getattr(self, attr)
        return found


def call_handler(method: Callable, data: Any, ctx: Any) -> Any:
    """Call a handler with the keyword arguments it takes, among `docs`, `parameters`
    (the TypeScript SDK's split of `data`), `data` and `ctx` (all of them for **kwargs)."""
    obj = data if isinstance(data, dict) else None
    has_docs = obj is not None and obj.get("docs") is not None
    has_params = obj is not None and obj.get("parameters") is not None
    docs = obj["docs"] if has_docs else []
    if has_docs and not isinstance(docs, list):
        raise NonRetryableError("data.docs must be an array")
    parameters = obj["parameters"] if has_params else ({} if has_docs else (data if data is not None else {}))
    available = {"docs": docs, "parameters": parameters, "data": data, "ctx": ctx}
    sig = inspect.signature(method)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        kwargs = available
    else:
        kwargs = {k: v for k, v in available.items() if k in sig.parameters}
    result = method(**kwargs)
    if inspect.isawaitable(result):
        import asyncio

        async def wait() -> Any:
            return await result

        result = asyncio.run(wait())
    return result
