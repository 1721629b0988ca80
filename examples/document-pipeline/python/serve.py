"""Serve the Python `classify` and `extract` executors to a worker (protocol `sdk`).

    python3 examples/document-pipeline/python/serve.py [--host 127.0.0.1] [--port 8601]

The port also comes from MARIE_EXECUTOR_PORT (0: a free one); the line "serving classify,
extract on http://HOST:PORT" says when it answers. `persist()` writes under --storage
(MARIE_STORAGE_URL; by default file://<examples/document-pipeline>/.data/storage, the
folder executors.python.yml gives the worker, so `store` reads what Python wrote).
marie_cp is imported from this repository's sdk/python when it is not installed.
SIGTERM or Ctrl-C stops it.
"""

import argparse
import os
import signal
import sys
import threading
from typing import Any, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
try:
    import marie_cp  # noqa: F401
except ImportError:  # not installed: the repository's copy
    sys.path.insert(0, os.path.normpath(os.path.join(HERE, "..", "..", "..", "sdk", "python")))

from marie_cp import create_server  # noqa: E402

from classify_executor import ClassifyExecutor  # noqa: E402
from extract_executor import ExtractExecutor  # noqa: E402

DEFAULT_PORT = 8601
# executors.python.yml's `storage: file://./.data/storage`, relative to that file.
DEFAULT_STORAGE = "file://" + os.path.normpath(os.path.join(HERE, "..", ".data", "storage"))


def executors(confidence_threshold: float = 0.8, storage_url: Optional[str] = None) -> List[Any]:
    found = [
        ClassifyExecutor(confidence_threshold=confidence_threshold, metas={"name": "classify"}),
        ExtractExecutor(metas={"name": "extract"}),
    ]
    for ex in found:
        ex.storage_url = storage_url  # persist() writes there (None: MARIE_STORAGE_URL)
    return found


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description="Serve the Python classify and extract executors")
    p.add_argument("--host", default=os.environ.get("MARIE_EXECUTOR_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("MARIE_EXECUTOR_PORT", DEFAULT_PORT)))
    p.add_argument("--storage", default=os.environ.get("MARIE_STORAGE_URL") or DEFAULT_STORAGE, help="file:// URL")
    p.add_argument("--confidence-threshold", type=float, default=0.8)
    args = p.parse_args(argv)
    if not args.storage.startswith("file://"):
        p.error("--storage must be a file:// URL")

    server = create_server(executors(args.confidence_threshold, args.storage), host=args.host, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, args=(0.1,), name="marie-serve", daemon=True).start()
    print("serving classify, extract on %s" % server.url, flush=True)
    try:
        stop.wait()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
