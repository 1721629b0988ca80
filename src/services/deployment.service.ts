import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/config';
import type { RedisBus } from '../events/bus';
import type { FleetService } from './fleet.service';
import {
  EXECUTOR_STATUS_REQUEST,
  executorStatusReplyChannel,
  type ExecutorStatusReply,
  type GpuInfo,
  type RemoteExecutorStatus,
} from '../core/bus-channels';

export {
  EXECUTOR_STATUS_REQUEST,
  executorStatusReplyChannel,
  type ExecutorStatusReply,
  type ExecutorStatusRequest,
} from '../core/bus-channels';

export interface DeploymentWorker {
  id: string;
  hostname: string;
  healthy: boolean;
  gpus: GpuInfo[];
  activeJobs: number;
  concurrency: number;
  /** activeJobs / concurrency, 0 to 1. */
  load: number;
  lastSeenAt: string;
  /** Under an executor that this worker reaches over HTTP: the remote's last status check. */
  remote?: RemoteExecutorStatus;
}

export interface DeploymentExecutor {
  name: string;
  status: 'ok' | 'unhealthy';
  workers: DeploymentWorker[];
  healthyWorkers: number;
  gpus: number;
  activeJobs: number;
  concurrency: number;
  load: number;
}

export interface DeploymentStatus {
  generatedAt: string;
  executors: DeploymentExecutor[];
  workers: Array<DeploymentWorker & { executors: string[] }>;
}

const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : 0);

/**
 * The seed's health endpoints: an executor's status answered by a live worker over Redis
 * (request on one channel, reply on a per-request channel), and the deployment status
 * from the fresh rows of `workers`.
 */
export class DeploymentService {
  constructor(
    private readonly bus: RedisBus,
    private readonly fleet: FleetService,
    private readonly config: AppConfig,
  ) {}

  /**
   * Ask the live workers hosting `executor`; the first `ok` reply wins. An `unhealthy`
   * reply is returned when no `ok` one follows shortly; null when nobody answers in time.
   */
  async executorStatus(executor: string, timeoutMs = this.config.executorStatusTimeoutMs) {
    const requestId = randomUUID();
    let unhealthy: ExecutorStatusReply | null = null;
    let settle!: (r: ExecutorStatusReply | null) => void;
    const result = new Promise<ExecutorStatusReply | null>((r) => (settle = r));
    let grace: NodeJS.Timeout | null = null;
    const unsubscribe = await this.bus.listen(executorStatusReplyChannel(requestId), (reply) => {
      if (reply.executor !== executor) return;
      if (reply.status === 'ok') settle(reply);
      else if (!unhealthy) {
        unhealthy = reply;
        grace = setTimeout(() => settle(unhealthy), Math.min(200, timeoutMs));
      }
    });
    const timer = setTimeout(() => settle(unhealthy), timeoutMs);
    try {
      await this.bus.send(EXECUTOR_STATUS_REQUEST, { requestId, executor });
      return await result;
    } finally {
      clearTimeout(timer);
      if (grace) clearTimeout(grace);
      await unsubscribe();
    }
  }

  /** Executors with their workers, GPUs, health and load, from the fresh `workers` rows. */
  async deploymentStatus(): Promise<DeploymentStatus> {
    const rows = await this.fleet.workers();
    const workers = rows.map((w) => ({
      id: w.id,
      hostname: w.hostname,
      executors: w.executors,
      healthy: w.healthy,
      gpus: w.gpus,
      activeJobs: w.activeJobs,
      concurrency: w.concurrency,
      load: ratio(w.activeJobs, w.concurrency),
      lastSeenAt: w.lastSeenAt.toISOString(),
    }));
    const names = [...new Set(workers.flatMap((w) => w.executors))].sort();
    const executors = names.map((name): DeploymentExecutor => {
      // Under an executor, each worker's numbers for that executor alone (its own
      // concurrency there, its jobs running there), not the worker's totals.
      const hosting = rows
        .filter((w) => w.executors.includes(name))
        .map((w): DeploymentWorker => {
          const own = w.executorSlots[name] ?? { concurrency: w.concurrency, activeJobs: w.activeJobs };
          // A remote executor runs here only while it answers healthy (its queues pause otherwise).
          return {
            id: w.id,
            hostname: w.hostname,
            healthy: w.healthy && (own.remote?.healthy ?? true),
            gpus: own.remote ? own.remote.gpus : w.gpus,
            activeJobs: own.activeJobs,
            concurrency: own.concurrency,
            load: ratio(own.activeJobs, own.concurrency),
            lastSeenAt: w.lastSeenAt.toISOString(),
            ...(own.remote ? { remote: own.remote } : {}),
          };
        });
      const healthyWorkers = hosting.filter((w) => w.healthy).length;
      const activeJobs = hosting.reduce((n, w) => n + w.activeJobs, 0);
      const concurrency = hosting.reduce((n, w) => n + w.concurrency, 0);
      return {
        name,
        status: healthyWorkers > 0 ? 'ok' : 'unhealthy',
        workers: hosting,
        healthyWorkers,
        gpus: hosting.reduce((n, w) => n + w.gpus.length, 0),
        activeJobs,
        concurrency,
        load: ratio(activeJobs, concurrency),
      };
    });
    return { generatedAt: new Date().toISOString(), executors, workers };
  }
}
