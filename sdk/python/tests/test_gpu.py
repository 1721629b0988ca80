"""GPU detection through a stand-in nvidia-smi (like test/fixtures/bin/nvidia-smi)."""

import os
import stat
import tempfile
import unittest
from unittest import mock

from marie_cp import detect_gpus, parse_nvidia_smi
from marie_cp import gpu as gpu_module

ARGS_FILE = "args.txt"


def stand_in(folder: str, body: str) -> str:
    path = os.path.join(folder, "nvidia-smi")
    with open(path, "w") as f:
        f.write('#!/bin/sh\necho "$@" > "%s"\n%s\n' % (os.path.join(folder, ARGS_FILE), body))
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


class GpuTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)

    def test_parses_the_csv_query(self) -> None:
        self.assertEqual(
            parse_nvidia_smi("0, NVIDIA H100, 81559, 1024, 37\n1, NVIDIA A10, 23028, [N/A], [N/A]\n\n"),
            [
                {"index": 0, "name": "NVIDIA H100", "memoryTotalMiB": 81559, "memoryUsedMiB": 1024, "utilizationPercent": 37},
                {"index": 1, "name": "NVIDIA A10", "memoryTotalMiB": 23028, "memoryUsedMiB": None, "utilizationPercent": None},
            ],
        )

    def test_nvidia_smi_path_from_env_with_the_same_query_as_the_worker(self) -> None:
        path = stand_in(self.dir.name, "printf '0, NVIDIA H200, 143771, 0, 0\\n1, NVIDIA H200, 143771, 512, 90\\n'")
        with mock.patch.dict(os.environ, {"NVIDIA_SMI_PATH": path}):
            gpus, healthy = detect_gpus()
        self.assertTrue(healthy)
        self.assertEqual([g["index"] for g in gpus], [0, 1])
        self.assertEqual(gpus[1]["utilizationPercent"], 90)
        with open(os.path.join(self.dir.name, ARGS_FILE)) as f:
            self.assertEqual(
                f.read().strip(),
                "--query-gpu=index,name,memory.total,memory.used,utilization.gpu --format=csv,noheader,nounits",
            )

    def test_a_failing_nvidia_smi_is_unhealthy(self) -> None:
        path = stand_in(self.dir.name, "echo 'NVIDIA-SMI has failed' >&2; exit 9")
        self.assertEqual(detect_gpus(command=path), ([], False))

    def test_no_nvidia_smi_and_no_torch_is_none_and_healthy(self) -> None:
        missing = os.path.join(self.dir.name, "absent", "nvidia-smi")
        with mock.patch.object(gpu_module, "_torch_gpus", return_value=[]):
            self.assertEqual(detect_gpus(command=missing), ([], True))

    def test_without_nvidia_smi_torch_cuda_answers(self) -> None:
        class Props:
            name = "NVIDIA L4"
            total_memory = 24 * 1024 * 1024 * 1024

        class Cuda:
            @staticmethod
            def is_available() -> bool:
                return True

            @staticmethod
            def device_count() -> int:
                return 1

            @staticmethod
            def get_device_properties(i: int) -> Props:
                return Props()

        fake_torch = mock.Mock(cuda=Cuda)
        missing = os.path.join(self.dir.name, "absent", "nvidia-smi")
        with mock.patch.dict("sys.modules", {"torch": fake_torch}):
            gpus, healthy = detect_gpus(command=missing)
        self.assertTrue(healthy)
        self.assertEqual(
            gpus,
            [{"index": 0, "name": "NVIDIA L4", "memoryTotalMiB": 24576, "memoryUsedMiB": None, "utilizationPercent": None}],
        )


if __name__ == "__main__":
    unittest.main()
