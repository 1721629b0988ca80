import { expect } from 'vitest';
import { ok, type TestApp } from './test-app';

export async function waitFor<T>(
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  label: string | (() => string) = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${typeof label === 'function' ? label() : label}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const SUBMIT = `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id name state progress { total pending } } }`;
export const DAG_STATE = `query ($id: ID!) { dag(id: $id) { id state completedAt progress { total pending active completed failed skipped percent }
  jobs { taskId state tryNumber error output attempts { tryNumber outcome workerId error } } } }`;

export interface DagSnapshot {
  id: string;
  state: string;
  completedAt: string | null;
  progress: Record<string, number>;
  jobs: Array<{
    taskId: string;
    state: string;
    tryNumber: number;
    error: string | null;
    output: unknown;
    attempts: Array<{ tryNumber: number; outcome: string; workerId: string | null; error: string | null }>;
  }>;
}

export async function submitDag(t: TestApp, key: string, input: Record<string, unknown>): Promise<string> {
  const res = ok(await t.gql<{ submitDag: { id: string } }>(SUBMIT, { input }, key));
  return res.submitDag.id;
}

export async function dagSnapshot(t: TestApp, key: string, id: string): Promise<DagSnapshot> {
  return ok(await t.gql<{ dag: DagSnapshot }>(DAG_STATE, { id }, key)).dag;
}

export async function waitForDag(
  t: TestApp,
  key: string,
  id: string,
  states: string[],
  timeoutMs = 20_000,
): Promise<DagSnapshot> {
  return waitFor(
    async () => {
      const d = await dagSnapshot(t, key, id);
      return states.includes(d.state) ? d : null;
    },
    timeoutMs,
    `DAG ${id} to reach ${states.join('|')}`,
  );
}

export const jobOf = (d: DagSnapshot, taskId: string) => {
  const j = d.jobs.find((x) => x.taskId === taskId);
  expect(j, `job ${taskId}`).toBeTruthy();
  return j!;
};

/** The seed's pipeline: OCR → (classify ∥ extract) → store, on the noop executor. */
export function seedPipeline(id: string, over: Record<string, Record<string, unknown>> = {}) {
  const job = (jid: string, deps: string[]) => ({
    id: jid,
    name: jid,
    executor: 'noop',
    dependencies: deps,
    data: { sleepMs: 20 },
    ...over[jid],
  });
  return {
    id,
    name: 'document-pipeline',
    jobs: [job('ocr', []), job('classify', ['ocr']), job('extract', ['ocr']), job('store', ['classify', 'extract'])],
  };
}
