"""GPU detection: nvidia-smi (the same query as the TypeScript worker), else torch.cuda."""

import os
import subprocess
from typing import Any, Dict, List, Optional, Tuple

QUERY = [
    "--query-gpu=index,name,memory.total,memory.used,utilization.gpu",
    "--format=csv,noheader,nounits",
]


def _num(s: Optional[str]) -> Optional[int]:
    try:
        return int((s or "").strip())
    except ValueError:
        return None


def parse_nvidia_smi(output: str) -> List[Dict[str, Any]]:
    """Parse the CSV lines of the query into `Gpu` objects (api.graphql)."""
    gpus = []
    for line in output.splitlines():
        line = line.strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(",")] + [None] * 5
        index, name, total, used, util = parts[:5]
        gpus.append(
            {
                "index": _num(index) or 0,
                "name": name or "unknown",
                "memoryTotalMiB": _num(total) or 0,
                "memoryUsedMiB": _num(used),
                "utilizationPercent": _num(util),
            }
        )
    return gpus


def _torch_gpus() -> List[Dict[str, Any]]:
    try:
        import torch  # type: ignore
    except Exception:
        return []
    try:
        if not torch.cuda.is_available():
            return []
        gpus = []
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            gpus.append(
                {
                    "index": i,
                    "name": props.name,
                    "memoryTotalMiB": int(props.total_memory // (1024 * 1024)),
                    "memoryUsedMiB": None,
                    "utilizationPercent": None,
                }
            )
        return gpus
    except Exception:
        return []


def detect_gpus(timeout: float = 5.0, command: Optional[str] = None) -> Tuple[List[Dict[str, Any]], bool]:
    """(gpus, healthy). No nvidia-smi is a normal answer (none, healthy, or torch's GPUs);
    an nvidia-smi that fails means GPUs that are there and unhealthy. The command is
    `NVIDIA_SMI_PATH` when set, else `nvidia-smi` on PATH."""
    cmd = command or os.environ.get("NVIDIA_SMI_PATH") or "nvidia-smi"
    try:
        done = subprocess.run(
            [cmd] + QUERY,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        return _torch_gpus(), True
    except (subprocess.TimeoutExpired, OSError):
        return [], False
    if done.returncode != 0:
        return [], False
    return parse_nvidia_smi(done.stdout.decode("utf-8", "replace")), True
