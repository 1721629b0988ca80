"""marie_cp: write executors in Python for the Marie control plane (standard library only)."""

from .api_client import ApiClient, MarieApiError
from .context import Assets, CallContext, TaskState
from .executor import Executor, NonRetryableError, requests
from .gpu import detect_gpus, parse_nvidia_smi
from .server import MarieServer, create_server, serve
from .storage import FileStorage, persist
from .version import FRAMED, MARIE_COMPAT, compute_asset_version

__all__ = [
    "ApiClient",
    "Assets",
    "CallContext",
    "Executor",
    "FileStorage",
    "FRAMED",
    "MARIE_COMPAT",
    "MarieApiError",
    "MarieServer",
    "NonRetryableError",
    "TaskState",
    "compute_asset_version",
    "create_server",
    "detect_gpus",
    "parse_nvidia_smi",
    "persist",
    "requests",
    "serve",
]
__version__ = "0.1.0"
