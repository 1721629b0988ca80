import { execFile } from 'node:child_process';
import type { GpuInfo } from '../entities/worker.entity';

const num = (s: string | undefined): number | null => {
  const n = Number.parseInt((s ?? '').trim(), 10);
  return Number.isFinite(n) ? n : null;
};

/** Parse `nvidia-smi --query-gpu=index,name,memory.total,memory.used,utilization.gpu --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(output: string): GpuInfo[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [index, name, total, used, util] = line.split(',').map((s) => s.trim());
      return {
        index: num(index) ?? 0,
        name: name ?? 'unknown',
        memoryTotalMiB: num(total) ?? 0,
        memoryUsedMiB: num(used),
        utilizationPercent: num(util),
      };
    });
}

export interface GpuProbe {
  gpus: GpuInfo[];
  /** False when nvidia-smi exists but fails: the GPUs are there and unhealthy. */
  healthy: boolean;
}

/**
 * Ask nvidia-smi for the GPUs; none installed is a normal answer. `command` is a name
 * looked up on PATH (the default) or a path (config NVIDIA_SMI_PATH).
 */
export function detectGpus(timeoutMs = 5_000, command = 'nvidia-smi'): Promise<GpuProbe> {
  return new Promise((resolve) => {
    execFile(
      command,
      ['--query-gpu=index,name,memory.total,memory.used,utilization.gpu', '--format=csv,noheader,nounits'],
      { timeout: timeoutMs },
      (err, stdout) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code;
          resolve({ gpus: [], healthy: code === 'ENOENT' });
          return;
        }
        resolve({ gpus: parseNvidiaSmi(stdout), healthy: true });
      },
    );
  });
}
