"""The remote-step benchmark's executor: a no-op served by the Python SDK.
python3 bench/python/remote_noop.py <port>   (PYTHONPATH=sdk/python)"""

import sys

from marie_cp import Executor, requests, serve


class NoopExecutor(Executor):
    @requests
    def noop(self, **kwargs):
        return None


if __name__ == "__main__":
    serve([NoopExecutor(metas={"name": "remote-noop"})], host="127.0.0.1", port=int(sys.argv[1]))
