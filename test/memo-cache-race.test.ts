import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ExecutorInvoker } from '../src/core/executor-call';
import { JobCacheRepository, type KeyLookup } from '../src/repositories/job-cache.repository';
import { submitDag, waitFor, waitForDag } from './support/dag-helpers';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Memoised execution's look-up reads, in one transaction, whether a finished job holds the
 * key (a source) and whether a running one computes it (in flight). Under READ COMMITTED each
 * statement sees the commits made before it: here the job computing the key commits its
 * completion between the look-up's two statements, which no timing can be trusted to do, so
 * the test does it from a hook on the repository (the SQL and the database are real).
 */
const calls: string[] = [];
let release: () => void = () => undefined;
const gate = new Promise<void>((r) => (release = r));
const gated: ExecutorInvoker = {
  name: `race-${randomUUID().slice(0, 8)}`,
  concurrency: 2,
  codeVersion: 'v1',
  async invoke(_data, ctx) {
    calls.push(ctx.dagId);
    // The first call holds its key in flight until the test lets it finish.
    if (calls.length === 1) await gate;
    return { ok: true };
  },
};

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], executors: [gated] });
}, 60_000);
afterAll(async () => t?.stop());

const dagOf = (id: string) => ({
  id,
  name: 'race',
  cache: { enabled: true },
  jobs: [{ id: 'x', name: 'x', executor: gated.name, data: { doc: 'same' } }],
});

type Lookup = (m: unknown, ls: KeyLookup[]) => Promise<unknown>;
const repo = JobCacheRepository.prototype as unknown as Record<'findSources' | 'inFlight', Lookup>;
const originals = { findSources: repo.findSources, inFlight: repo.inFlight };
afterAll(() => Object.assign(repo, originals));

const stateOf = async (jobId: string) =>
  (await t.app.services.ds.query<Array<{ state: string }>>(`SELECT state FROM jobs WHERE id = $1`, [jobId]))[0]?.state;

it('a look-up during which the job computing its key completes hits that result; it does not run again', async () => {
  const { key } = await t.tenant('submitter');
  const [a, b] = [`a-${randomUUID()}`, `b-${randomUUID()}`];
  await submitDag(t, key, dagOf(a));
  await waitFor(async () => calls.length === 1, 20_000, 'the first job running');
  const [{ id: first }] = await t.app.services.ds.query<Array<{ id: string }>>(
    `SELECT id FROM jobs WHERE dag_id = $1 AND task_id = 'x'`,
    [a],
  );

  // After the first of the second job's look-up statements: the first job finishes, committed.
  let hooked = false;
  for (const name of ['findSources', 'inFlight'] as const)
    repo[name] = async function (this: unknown, m, ls) {
      const out = await originals[name].call(this, m, ls);
      if (!hooked && ls.some((l) => l.jobId !== first)) {
        hooked = true;
        release();
        await waitFor(async () => (await stateOf(first)) === 'COMPLETED', 20_000, 'the first job completed');
      }
      return out;
    };

  await submitDag(t, key, dagOf(b));
  await waitForDag(t, key, b, ['COMPLETED', 'FAILED'], 30_000);
  expect(hooked).toBe(true);
  expect(calls).toEqual([a]);
}, 60_000);
