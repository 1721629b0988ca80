import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Renderer, watchDag, type WatchedDag } from '../src/cli/dag-watch';
import { submitDag, waitForDag } from './support/dag-helpers';
import { startTestApp, type TestApp } from './support/test-app';

let t: TestApp;
let key: string;

beforeAll(async () => {
  // A subscriber with more than 2 events queued is closed (4409) and must resume with `after`.
  t = await startTestApp({ roles: ['api', 'scheduler', 'worker'], env: { EVENT_SUBSCRIBER_BUFFER: '2' } });
  ({ key } = await t.tenant('submitter'));
});
afterAll(async () => {
  await t?.stop();
});

function sink() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString('utf8')));
  return { out, text: () => text };
}

const wide = (id: string, n: number, data: Record<string, unknown> = {}) => ({
  id,
  name: 'watch-test',
  jobs: Array.from({ length: n }, (_, i) => ({ id: `j${i}`, name: `j${i}`, executor: 'noop', data })),
});

describe('marie dag watch (the watch itself)', () => {
  it('resumes after the server drops it (slow consumer): every event once, then the final state', async () => {
    const id = `burst-${randomUUID()}`;
    await submitDag(t, key, { ...wide(id, 16, { sleepMs: 300 }), id });
    const s = sink();
    const reconnects: string[] = [];
    const dag = await watchDag({ url: t.url, key }, id, {
      json: true,
      out: s.out,
      onReconnect: (_n, why) => reconnects.push(why),
    });
    expect(dag.state).toBe('COMPLETED');
    expect(dag.jobs.every((j) => j.state === 'COMPLETED')).toBe(true);
    expect(reconnects.length, 'the burst overflowed the 2-event buffer').toBeGreaterThan(0);
    expect(reconnects[0]).toContain('4409');
    const lines = s
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; cursor?: string; taskId?: string; state: string });
    // Each job's last line is its final state (trailing job events are caught up from a last read).
    for (let i = 0; i < 16; i++) {
      expect(lines.filter((e) => e.taskId === `j${i}`).at(-1)?.state, `j${i}`).toBe('COMPLETED');
    }
    expect(lines.at(-1)).toMatchObject({ type: 'dag', state: 'COMPLETED' });
    // The first line is the state as of a cursor; after it, across the reconnections, each
    // stream's events are the log's, in order, without a gap or a repeat.
    const start = BigInt(lines[0].cursor!);
    const logged = async (type: string): Promise<string[]> => {
      const found: Array<{ p: string }> = await t.app.services.ds.query(
        `SELECT position::text AS p FROM event_log_events WHERE dag_id = $1 AND type = $2 ORDER BY event_log_events.position`,
        [id, type],
      );
      return found.map((r) => r.p).filter((p) => BigInt(p) > start);
    };
    const seen = (type: string) =>
      lines
        .slice(1)
        .filter((e) => e.type === type && e.cursor)
        .map((e) => e.cursor!);
    const jobs = seen('job');
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs).toEqual((await logged('JOB')).slice(0, jobs.length));
    expect(seen('dag')).toEqual(await logged('DAG'));
  });

  it('on a terminal: one redrawn line per job with a progress bar, and the DAG line', async () => {
    const id = `tty-${randomUUID()}`;
    await submitDag(t, key, { ...wide(id, 2), id });
    await waitForDag(t, key, id, ['COMPLETED']);
    const s = sink();
    await watchDag({ url: t.url, key }, id, { tty: true, out: s.out });
    const lines = s.text().split('\n');
    expect(lines[0]).toBe('\x1b[2Kj0    COMPLETED  try 1  [####################] 100%');
    expect(lines[2]).toBe(`\x1b[2Kdag ${id} COMPLETED  [####################] 100%  2/2 completed`);
  });

  it('line by line: an event replayed after the snapshot that repeats what it shows writes nothing', () => {
    const dag: WatchedDag = {
      id: 'd1',
      name: 'n',
      state: 'ACTIVE',
      progress: { total: 2, completed: 0, failed: 0, percent: 0 },
      jobs: [
        { taskId: 'ocr', state: 'ACTIVE', tryNumber: 1, progressPercent: null },
        { taskId: 'store', state: 'CREATED', tryNumber: 1, progressPercent: null },
      ],
    };
    const s = sink();
    const r = new Renderer(dag, s.out, 'lines');
    r.all('1');
    const shown = s.text();
    // The snapshot already shows ocr ACTIVE and the DAG ACTIVE at 0%: their events, replayed, add nothing.
    r.job({ taskId: 'ocr', state: 'ACTIVE', tryNumber: 1, progressPercent: null, cursor: '2' });
    r.dagChanged('3');
    expect(s.text()).toBe(shown);
    // A change is a line; the same change again is not.
    dag.jobs[0].state = 'COMPLETED';
    r.job({ taskId: 'ocr', state: 'COMPLETED', tryNumber: 1, progressPercent: 100, cursor: '4' });
    r.job({ taskId: 'ocr', state: 'COMPLETED', tryNumber: 1, progressPercent: 100, cursor: '4' });
    dag.progress = { total: 2, completed: 1, failed: 0, percent: 50 };
    r.dagChanged('5');
    r.dagChanged('5');
    expect(s.text().slice(shown.length)).toBe('ocr    COMPLETED  try 1  100%\ndag d1 ACTIVE 50% 1/2 completed\n');
  });
});
