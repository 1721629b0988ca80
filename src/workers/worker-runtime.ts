import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Services } from '../server/services';
import { detectGpus, type GpuProbe } from './gpu';

/**
 * The worker role: registers itself in the shared `workers` view with its executors and
 * GPUs and keeps its heartbeat fresh. Executors and job consumption grow on this.
 */
export class WorkerRuntime {
  readonly id: string;
  private timer: NodeJS.Timeout | null = null;
  private probe: GpuProbe = { gpus: [], healthy: true };
  private stopped = false;
  activeJobs = 0;

  constructor(
    private readonly services: Services,
    readonly executors: string[] = ['noop'],
    readonly concurrency = 1,
  ) {
    this.id = services.config.workerId ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  }

  async start(): Promise<void> {
    this.probe = await detectGpus();
    await this.heartbeat();
    const tick = async () => {
      if (this.stopped) return;
      try {
        this.probe = await detectGpus();
        await this.heartbeat();
      } catch (err) {
        this.services.log.warn({ err }, 'worker heartbeat failed');
      }
      if (!this.stopped) this.timer = setTimeout(tick, this.services.config.timings.heartbeatMs);
    };
    this.timer = setTimeout(tick, this.services.config.timings.heartbeatMs);
    this.services.log.info(
      { workerId: this.id, executors: this.executors, gpus: this.probe.gpus.length },
      'worker started',
    );
  }

  get healthy(): boolean {
    return this.probe.healthy;
  }

  async heartbeat(): Promise<void> {
    await this.services.ds.query(
      `INSERT INTO workers (id, hostname, executors, gpus, concurrency, active_jobs, healthy, started_at, last_seen_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now())
       ON CONFLICT (id) DO UPDATE SET executors = EXCLUDED.executors, gpus = EXCLUDED.gpus,
         concurrency = EXCLUDED.concurrency, active_jobs = EXCLUDED.active_jobs, healthy = EXCLUDED.healthy,
         last_seen_at = now()`,
      [
        this.id,
        os.hostname(),
        this.executors,
        JSON.stringify(this.probe.gpus),
        this.concurrency,
        this.activeJobs,
        this.probe.healthy,
      ],
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.services.ds.query(`DELETE FROM workers WHERE id = $1`, [this.id]).catch(() => undefined);
  }
}
