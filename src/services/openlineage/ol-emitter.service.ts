import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import type { OpenLineageEmitConfig } from '../../config/config';
import type { LoggedEvent } from '../../core/events';
import type { AttemptRef, OpenLineageEmitRepository } from '../../repositories/openlineage-emit.repository';
import { buildRunEvent, plan, type AttemptIo, type EmitDataset, type Planned } from './ol-emit-events';

/** One RunEvent to send and the log entry it comes from. */
interface Outgoing {
  position: string;
  body: Record<string, unknown>;
}

/** What a round decided: how long to wait before the next (0: go on at once; null: idle). */
export type RoundResult = number | null;

/** Log entries read per round (each becomes at most two RunEvents). */
export const EMIT_BATCH = 100;
/** RunEvents per POST when the endpoint takes arrays. */
const BATCH_POST = 100;

const dagKey = (tenantId: string, dagId: string) => `${tenantId}\0${dagId}`;

/**
 * OpenLineage out (README "OpenLineage out"): the event log is the outbox. Each round,
 * under the lock of the receiver's state row (several schedulers: one emits, the others
 * skip), reads the DAG and JOB events past the watermark in position order, turns them
 * into RunEvents and POSTs them in that order (OPENLINEAGE_TENANTS: only those tenants'); the watermark moves past what was
 * delivered, in the same transaction. A failed POST stops the round: nothing after it is
 * sent, and the next round, after an exponential backoff (capped), starts again with it.
 * So every event is delivered at least once and in log order (per run in particular),
 * whatever stops in between; a crash after a POST and before the commit sends it again.
 */
export class OpenLineageEmitter {
  private ready = false;

  constructor(
    private readonly ds: DataSource,
    private readonly repo: OpenLineageEmitRepository,
    private readonly config: OpenLineageEmitConfig,
    private readonly log: Logger,
  ) {}

  /** Emit what is due; see RoundResult. */
  async round(limit = EMIT_BATCH): Promise<RoundResult> {
    if (!this.ready) {
      await this.repo.ensureState(this.ds, this.config.sink);
      this.ready = true;
    }
    return this.ds.transaction(async (m) => {
      const state = await this.repo.lockState(m, this.config.sink);
      if (!state) return null; // another scheduler emits
      if (state.dueInMs > 0) return state.dueInMs;
      // Read first: what is stamped after it has a higher position, so a round that reads
      // fewer than `limit` events has seen everything up to it (other types, other tenants).
      const end = await this.repo.lastPosition(m);
      const events = await this.repo.eventsAfter(m, state.emittedThrough, limit, this.config.tenants);
      const full = events.length === limit;
      if (!events.length) {
        if (BigInt(end) > BigInt(state.emittedThrough)) await this.repo.advance(m, this.config.sink, end);
        return null;
      }
      const outgoing = await this.build(m, events);
      const { deliveredThrough, error } = await this.deliver(events, outgoing);
      if (error === null) {
        const last = deliveredThrough!;
        await this.repo.advance(m, this.config.sink, full || BigInt(last) > BigInt(end) ? last : end);
        return full ? 0 : null;
      }
      if (deliveredThrough) await this.repo.advance(m, this.config.sink, deliveredThrough);
      const failures = deliveredThrough ? 0 : state.failures;
      const delayMs = Math.min(this.config.retryBaseMs * 2 ** Math.min(failures, 30), this.config.retryMaxMs);
      await this.repo.failed(m, this.config.sink, error, delayMs);
      this.log.warn({ error, failures: failures + 1, retryInMs: delayMs }, 'OpenLineage emission failed; will retry');
      return delayMs;
    });
  }

  /** The state row as it stands. */
  state() {
    return this.repo.state(this.ds, this.config.sink);
  }

  private async build(m: EntityManager, events: readonly LoggedEvent[]): Promise<Outgoing[]> {
    const planned = events.flatMap((e) => plan(e).map((p) => ({ position: e.position, p })));
    const dags = new Map(planned.map(({ p }) => [dagKey(p.tenantId, p.dagId), p]));
    const [names, slugs] = await Promise.all([
      this.repo.dagNames(m, [...dags.values()]),
      this.repo.tenantSlugs(m, [...new Set(planned.map(({ p }) => p.tenantId))]),
    ]);
    const ends = planned.filter(({ p }) => p.attempt && p.eventType !== 'START' && p.eventType !== 'RUNNING');
    const io = await this.attemptIo(
      m,
      ends.map(({ p }) => p),
      slugs,
    );
    return planned.map(({ position, p }) => ({
      position,
      body: buildRunEvent(
        p,
        { namespace: this.namespaceOf(p.tenantId, slugs), dagName: names.get(dagKey(p.tenantId, p.dagId)) ?? p.dagId },
        io.get(p) ?? null,
      ),
    }));
  }

  private namespaceOf(tenantId: string, slugs: Map<string, string>): string {
    return `${this.config.namespace}/${slugs.get(tenantId) ?? tenantId}`;
  }

  /**
   * Inputs and outputs of the attempts that ended: outputs = what the attempt recorded
   * (a success: what its node recorded in every try so far), latest per asset; inputs =
   * their upstream refs. Assets that came from OpenLineage keep their original names.
   */
  private async attemptIo(
    m: EntityManager,
    ends: readonly Planned[],
    slugs: Map<string, string>,
  ): Promise<Map<Planned, AttemptIo>> {
    const refs: AttemptRef[] = ends.map((p) => ({
      tenantId: p.tenantId,
      dagId: p.dagId,
      taskId: p.attempt!.taskId,
      jobId: p.attempt!.jobId,
      tryNumber: p.attempt!.tryNumber,
      upToTry: p.attempt!.upToTry,
    }));
    const mats = await this.repo.attemptMaterializations(m, refs);
    const outs = ends.map(() => new Map<string, string>());
    const ins = ends.map(() => new Map<string, string>());
    for (const r of mats) {
      outs[r.ref].set(r.assetKey, r.version);
      if (r.upstreamKey && r.upstreamVersion) ins[r.ref].set(r.upstreamKey, r.upstreamVersion);
    }
    const keys = new Map<string, { tenantId: string; assetKey: string }>();
    ends.forEach((p, i) => {
      for (const k of [...outs[i].keys(), ...ins[i].keys()])
        keys.set(dagKey(p.tenantId, k), { tenantId: p.tenantId, assetKey: k });
    });
    const olNames = new Map(
      (await this.repo.olNames(m, [...keys.values()])).map((n) => [dagKey(n.tenantId, n.assetKey), n]),
    );
    const datasets = (p: Planned, found: Map<string, string>): EmitDataset[] =>
      [...found].map(([assetKey, version]) => {
        const ol = olNames.get(dagKey(p.tenantId, assetKey));
        return ol
          ? { namespace: ol.namespace, name: ol.name, version }
          : { namespace: this.namespaceOf(p.tenantId, slugs), name: assetKey, version };
      });
    return new Map(ends.map((p, i) => [p, { inputs: datasets(p, ins[i]), outputs: datasets(p, outs[i]) }]));
  }

  /**
   * POST in order, one event a request (or arrays, for a `/batch` endpoint), stopping at
   * the first failure. `deliveredThrough`: the last log position whose events all went.
   */
  private async deliver(
    events: readonly LoggedEvent[],
    outgoing: readonly Outgoing[],
  ): Promise<{ deliveredThrough: string | null; error: string | null }> {
    const size = this.config.batch ? BATCH_POST : 1;
    const positions = events.map((e) => BigInt(e.position));
    const before = (position: string): string | null => {
      const p = BigInt(position);
      const done = positions.filter((x) => x < p);
      return done.length ? String(done[done.length - 1]) : null;
    };
    for (let i = 0; i < outgoing.length; i += size) {
      const chunk = outgoing.slice(i, i + size);
      const error = await this.post(this.config.batch ? chunk.map((o) => o.body) : chunk[0].body);
      if (error !== null) return { deliveredThrough: before(chunk[0].position), error };
    }
    return { deliveredThrough: events[events.length - 1].position, error: null };
  }

  /** null when the receiver took it (2xx), else why not. */
  private async post(body: unknown): Promise<string | null> {
    try {
      const res = await fetch(this.config.endpointUrl, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'marie-control-plane',
          ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
        },
        body: JSON.stringify(body),
      });
      const text = await res.text().catch(() => '');
      return res.ok ? null : `HTTP ${res.status}: ${text.slice(0, 300)}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
    }
  }
}
