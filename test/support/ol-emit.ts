import { createHash, randomBytes } from 'node:crypto';
import type { ExecutorInvoker } from '../../src/core/executor-call';
import { dagRunId } from '../../src/services/openlineage/ol-emit-events';
import { startOlReceiver, type OlReceiver } from './ol-receiver';
import { startTestApp, type TestApp } from './test-app';

/* What the OpenLineage-out tests share: a recording executor, an app that emits to a receiver, and readers. */

export const V = (s: string) => `v:sha256:${createHash('sha256').update(s).digest('hex')}`;

export interface RecorderData {
  out?: string[];
  /** Upstream refs besides those the node's upstream nodes recorded. */
  extra?: Array<{ assetKey: string; version: string }>;
  failTries?: number;
  hang?: boolean;
}

/** Records `out` with the node's upstream (and `extra`) as its inputs; fails while try ≤ failTries; or hangs. */
export function recorderExecutor(name: string): ExecutorInvoker {
  return {
    name,
    concurrency: 8,
    async invoke(raw, ctx) {
      const d = (raw ?? {}) as RecorderData;
      if (d.failTries && ctx.tryNumber <= d.failTries) throw new Error(`boom on try ${ctx.tryNumber}`);
      if (d.hang) {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
        throw new Error('aborted');
      }
      if (d.out?.length) {
        const up = (await ctx.assets.upstream()).map((u) => ({ assetKey: u.assetKey, version: u.version }));
        const rec = await ctx.assets.record(
          d.out.map((k) => ({ assetKey: k, version: V(`${k}@${ctx.dagId}`) })),
          [...up, ...(d.extra ?? [])],
        );
        if (!rec.ok) throw new Error(`recording failed: ${rec.error}`);
      }
      return null;
    },
  };
}

export type OlDs = { namespace: string; name: string; facets: { version: { datasetVersion: string } } };
export type OlEvent = Record<string, unknown> & {
  eventType: string;
  run: { runId: string; facets: Record<string, Record<string, unknown>> };
  job: { namespace: string; name: string };
  inputs: OlDs[];
  outputs: OlDs[];
};

/**
 * An app (api, scheduler, worker with the recorder `exec`) that emits the runs of `tenants`
 * (slugs) to a receiver of the test's, which forwards to our own ingest on tenant `b`.
 */
export async function startEmittingApp(
  exec: string,
  tenants: readonly string[],
  env: Record<string, string> = {},
): Promise<{ t: TestApp; receiver: OlReceiver; b: { tenantId: string; slug: string; key: string } }> {
  const receiverKey = `ol-receiver-${randomBytes(8).toString('hex')}`;
  const receiver = await startOlReceiver(receiverKey);
  const t = await startTestApp({
    roles: ['api', 'scheduler', 'worker'],
    executors: [recorderExecutor(exec)],
    env: {
      OPENLINEAGE_URL: receiver.url,
      OPENLINEAGE_API_KEY: receiverKey,
      OPENLINEAGE_NAMESPACE: 'marie',
      OPENLINEAGE_TENANTS: tenants.join(','),
      OPENLINEAGE_RETRY_BASE_MS: '100',
      OPENLINEAGE_RETRY_MAX_MS: '1000',
      OPENLINEAGE_TIMEOUT_MS: '2000',
      ...env,
    },
  });
  const b = await t.tenant('executor');
  receiver.forwardTo(t.url.replace('/graphql', ''), b.key);
  return { t, receiver, b };
}

/** The events of one DAG run: its own and its attempts' (by the parent facet), in arrival order. */
export function eventsOfDag(receiver: OlReceiver, tenantId: string, dagId: string): OlEvent[] {
  const runId = dagRunId(tenantId, dagId);
  const parentOf = (e: OlEvent) => (e.run.facets.parent?.run as { runId?: string } | undefined)?.runId;
  return (receiver.events as OlEvent[]).filter((e) => e.run.runId === runId || parentOf(e) === runId);
}

/** Compact: `<job name> <eventType>` per event. */
export const steps = (events: OlEvent[]) => events.map((e) => `${e.job.name} ${e.eventType}`);
