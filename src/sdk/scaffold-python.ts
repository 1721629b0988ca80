/** What the Python project templates take (see scaffoldExecutor). */
export interface PythonTemplateInput {
  name: string;
  className: string;
  /** kebab-case name: the executor's name (its queue) and its asset keys. */
  base: string;
  /** Absolute path of the repository's sdk/python (marie_cp), where the project finds it when it is not installed. */
  sdkPath: string;
  /** The port serve.py listens on and config.yml's url names. */
  port: number;
  /** The project folder as written from the repository root. */
  where: string;
}

/** snake_case of a kebab-case name: Python module names. */
export const snake = (kebab: string) => kebab.replace(/-/g, '_');

/**
 * The files of a Python executor project: the executor (marie_cp), serve.py, a unittest
 * test that passes as generated, config.yml (the worker's RemoteExecutor entry) and a
 * README. marie_cp is imported as installed, else from `sdkPath`, the repository's
 * sdk/python as it was when the project was generated (marie_sdk_path.py says so).
 */
export function pythonProject({
  name,
  className,
  base,
  sdkPath,
  port,
  where,
}: PythonTemplateInput): Record<string, string> {
  const mod = `${snake(base)}_executor`;
  return {
    'marie_sdk_path.py': `"""Where marie_cp comes from: the installed package (pip install <repository>/sdk/python),
else the repository this project was generated from. serve.py and the test import this
module first; change SDK_PATH if the repository moves."""

import os
import sys

SDK_PATH = ${JSON.stringify(sdkPath)}

try:
    import marie_cp  # noqa: F401
except ImportError:
    if not os.path.isdir(os.path.join(SDK_PATH, "marie_cp")):
        raise ImportError("marie_cp is neither installed nor in %s (see marie_sdk_path.py)" % SDK_PATH)
    sys.path.insert(0, SDK_PATH)
`,
    [`${mod}.py`]: `"""${className}: a Marie executor in Python, made with \`marie executor new ${name} --python\`."""

from typing import Any, Dict, List

from marie_cp import Executor, NonRetryableError, requests


class ${className}(Executor):
    # Part of the version of every asset persist() records: change it when the code changes.
    code_fingerprint = "${base}@0.1.0"
    # What GET /_marie/status reports as codeVersion.
    code_version = "${base}@0.1.0"

    def __init__(self, greeting: str = "Hello", **kwargs: Any):
        super().__init__(**kwargs)
        self.greeting = greeting

    @requests(on="/process")
    def process(self, docs: List[Dict[str, Any]], parameters: Dict[str, Any], ctx: Any) -> Dict[str, Any]:
        name = parameters.get("name", "world")
        if not isinstance(name, str) or not name:
            raise NonRetryableError("parameters.name must be a non-empty string")  # 422: no retry
        ctx.progress(10, "started")
        message = "%s, %s!" % (self.greeting, name)
        persisted = ctx.persist(
            [
                {
                    "asset_key": "${base}/output",
                    "data": {"message": message, "documents": [d.get("id") for d in docs]},
                    "kind": "json",
                    "metadata": {"documentCount": len(docs)},
                }
            ]
        )
        assets = [{"assetKey": a["asset_key"], "version": a["version"], "uri": a["uri"]} for a in persisted["assets"]]
        return {"message": message, "assets": assets}

    def close(self) -> None:
        """Release models, GPU memory, files here: the server calls it once when it stops."""
`,
    'serve.py': `"""Serve ${className} to a worker (protocol sdk):

    python3 serve.py [--host 127.0.0.1] [--port ${port}]

The port also comes from MARIE_EXECUTOR_PORT; persist() writes under MARIE_STORAGE_URL
(file://). SIGTERM or Ctrl-C stops it."""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import marie_sdk_path  # noqa: E402,F401  (finds marie_cp)

from marie_cp import serve  # noqa: E402

from ${mod} import ${className}  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description="Serve ${className}")
    p.add_argument("--host", default=os.environ.get("MARIE_EXECUTOR_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("MARIE_EXECUTOR_PORT", ${port})))
    args = p.parse_args()
    print("serving ${base} on http://%s:%d" % (args.host, args.port), flush=True)
    serve([${className}(metas={"name": "${base}"})], host=args.host, port=args.port)


if __name__ == "__main__":
    main()
`,
    [`test_${snake(base)}.py`]: `"""${className}, called directly and over HTTP as a worker calls it. Run: python3 -m unittest"""

import json
import tempfile
import threading
import unittest
import urllib.request

import marie_sdk_path  # noqa: F401  (finds marie_cp)
from marie_cp import CallContext, NonRetryableError, compute_asset_version, create_server
from marie_cp.testing import TOKEN, FakeControlPlane

from ${mod} import ${className}


class ${className}Test(unittest.TestCase):
    def setUp(self) -> None:
        self.api = FakeControlPlane()  # the control plane's GraphQL, as persist() uses it
        self.addCleanup(self.api.close)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.executor = ${className}(metas={"name": "${base}"})
        self.executor.storage_url = "file://" + tmp.name  # where persist() writes
        self.context = {
            "tenantId": "t1",
            "dagId": "dag-1",
            "dagName": "test",
            "jobId": "job-1",
            "taskId": "task-1",
            "tryNumber": 1,
            "partitionKey": None,
            "endpoint": "/process",
            "apiUrl": self.api.url,
            "upstream": [],
        }

    def test_persists_its_output_as_a_recorded_asset(self) -> None:
        ctx = CallContext(self.context, TOKEN, executor=self.executor)
        out = self.executor.process(docs=[{"id": "d1"}], parameters={"name": "Marie"}, ctx=ctx)
        self.assertEqual(out["message"], "Hello, Marie!")
        self.assertEqual(len(self.api.recorded), 1)
        [asset] = self.api.recorded[0]["assets"]
        self.assertEqual(asset["assetKey"], "${base}/output")
        with urllib.request.urlopen(asset["uri"]) as f:
            written = f.read()
        self.assertEqual(json.loads(written), {"message": "Hello, Marie!", "documents": ["d1"]})
        self.assertEqual(asset["version"], compute_asset_version(written, "${base}@0.1.0", None, []))

    def test_bad_parameters_fail_without_retry(self) -> None:
        ctx = CallContext(self.context, TOKEN, executor=self.executor)
        with self.assertRaises(NonRetryableError):
            self.executor.process(docs=[], parameters={"name": ""}, ctx=ctx)

    def test_served_over_http(self) -> None:
        server = create_server(self.executor, host="127.0.0.1", port=0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.close)
        body = {"data": {"docs": [{"id": "d1"}], "parameters": {"name": "HTTP"}}, "context": self.context}
        req = urllib.request.Request(
            server.url + "/process",
            data=json.dumps(body).encode("utf-8"),
            headers={"content-type": "application/json", "authorization": "Bearer " + TOKEN},
        )
        with urllib.request.urlopen(req, timeout=30) as res:
            # progress() makes the answer NDJSON: progress lines, then the result line.
            lines = [json.loads(line) for line in res.read().splitlines() if line.strip()]
        self.assertEqual(lines[0], {"progress": {"percent": 10.0, "message": "started"}})
        self.assertEqual(lines[-1]["output"]["message"], "Hello, HTTP!")


if __name__ == "__main__":
    unittest.main()
`,
    'config.yml': `# ${className} as a remote executor of a worker: start it (python3 serve.py), then
#   npx marie worker --config ${where}/config.yml
# from the repository root. The worker consumes the "${base}" queue and calls it over HTTP.
executors:
  - jtype: RemoteExecutor
    with:
      url: http://127.0.0.1:${port}
      protocol: sdk
      timeoutSeconds: 600
      statusIntervalSeconds: 10
    metas:
      name: ${base}
      description: ${name} executor (Python)
    concurrency: 1
`,
    'README.md': `# ${className} (Python)

A Marie executor in Python made with \`marie executor new ${name} --python\`, on the
control plane's Python SDK \`marie_cp\` (standard library only, Python 3.9 or newer).

- \`${mod}.py\`: the executor. \`@requests(on="/process")\` marks an endpoint; a job with
  \`executor: "${base}"\` and \`name: "/process"\` calls it with \`docs\`, \`parameters\` (its
  \`data\`) and \`ctx\` (dag and task ids, try, \`upstream()\`, \`progress()\`, \`cancelled\`,
  \`state\`, \`assets\`, \`persist()\`).
- \`serve.py\`: serves it over HTTP (port ${port}; \`--port\` or \`MARIE_EXECUTOR_PORT\`).
- \`config.yml\`: the worker's side, a \`jtype: RemoteExecutor\` entry pointing at it.
- \`test_${snake(base)}.py\`: calls it directly and over HTTP, with a stand-in for the API.
- \`marie_sdk_path.py\`: finds \`marie_cp\`: installed (\`pip install <repository>/sdk/python\`),
  else \`${sdkPath}\`, the repository it was generated from.

Test it, in this folder:

\`\`\`sh
python3 -m unittest
\`\`\`

Serve it, then run a worker for it from the repository root:

\`\`\`sh
python3 serve.py --port ${port}
npx marie worker --config ${where}/config.yml
\`\`\`
`,
  };
}
