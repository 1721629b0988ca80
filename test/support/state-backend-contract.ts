import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors/domain-error';
import { staleAttempt, type AttemptGuard } from '../../src/state/attempt-guard';
import type { StateBackend } from '../../src/state/backends/state-backend';
import { RunContext } from '../../src/state/run-context';
import { DEFAULT_MAX_VALUE_BYTES } from '../../src/state/state-value';
import { TaskInstanceRef } from '../../src/state/task-instance-ref';

/** A guard that lets every attempt write and remembers which ones asked. */
export class RecordingGuard implements AttemptGuard {
  readonly asked: TaskInstanceRef[] = [];
  /** `${taskId}@${tryNumber}` of attempts that are stale. */
  readonly stale = new Set<string>();

  async assertCurrent(ti: TaskInstanceRef): Promise<void> {
    this.asked.push(ti);
    if (this.stale.has(`${ti.taskId}@${ti.tryNumber}`)) throw staleAttempt(ti);
  }
}

/** The DomainError code a promise rejects with (fails the test when it resolves). */
export async function codeOfRejection(p: Promise<unknown>): Promise<{ code: string; message: string; field?: string }> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return { code: err.code, message: err.message, field: err.details.field };
  }
  throw new Error('expected a rejection');
}

export interface BackendUnderTest {
  backend: StateBackend;
  cleanup?: () => Promise<void>;
}

/**
 * The contract every task state backend passes: the same semantics on memory, Postgres and S3.
 */
export function stateBackendContract(name: string, make: () => Promise<BackendUnderTest>): void {
  describe(`task state contract: ${name}`, () => {
    let under: BackendUnderTest;
    let backend: StateBackend;

    beforeAll(async () => {
      under = await make();
      backend = under.backend;
    });
    afterAll(async () => {
      await under?.backend.close();
      await under?.cleanup?.();
    });

    /** A fresh tenant and DAG run per test, so tests never see each other's state. */
    function run(opts: { tenantId?: string; dagName?: string; dagId?: string } = {}) {
      const tenantId = opts.tenantId ?? `tenant-${randomBytes(4).toString('hex')}`;
      const dagName = opts.dagName ?? 'document pipeline';
      const dagId = opts.dagId ?? `dag-${randomBytes(4).toString('hex')}`;
      const guard = new RecordingGuard();
      const ti = (taskId: string, tryNumber = 1) =>
        new TaskInstanceRef({ tenantId, dagName, dagId, taskId, tryNumber });
      const ctx = (taskId: string, tryNumber = 1) => new RunContext(ti(taskId, tryNumber), backend, guard);
      return { tenantId, dagName, dagId, guard, ti, ctx };
    }

    it('reads back what an attempt stored, and only at that try', async () => {
      const r = run();
      const lines = [
        { text: 'Hello', box: [1, 2, 3, 4] },
        { text: 'wörld ✓', box: [5, 6, 7, 8] },
      ];
      await r.ctx('ocr', 2).set('OCR_LINES', lines);
      expect(await r.ctx('ocr', 2).get('OCR_LINES')).toEqual(lines);
      // Without fromTask, a read is of the caller's own try: another try of the same task sees nothing.
      expect(await r.ctx('ocr', 1).get('OCR_LINES')).toBeUndefined();
      expect(await r.ctx('ocr', 3).get('OCR_LINES', { default: 'none' })).toBe('none');
      const entry = await backend.get(r.ti('ocr', 2), 'OCR_LINES');
      expect(entry).toMatchObject({ key: 'OCR_LINES', value: lines, tryNumber: 2, metadata: {} });
      expect(entry?.createdAt).toBeInstanceOf(Date);
      expect(Math.abs(Date.now() - entry!.createdAt.getTime())).toBeLessThan(60_000);
    });

    it('keeps every JSON shape as it was', async () => {
      const r = run();
      const values: Record<string, unknown> = {
        s: '',
        u: 'Ünïcödé 中文 🚀 "quoted" \\ back',
        n: -12.5e-3,
        big: 9007199254740991,
        z: 0,
        t: true,
        f: false,
        nul: null,
        arr: [1, 'two', [3], { four: 4 }, null],
        obj: { nested: { deeper: { list: [], empty: {} } }, 'key with spaces': 1 },
      };
      const c = r.ctx('shapes');
      for (const [k, v] of Object.entries(values)) await c.set(k, v);
      for (const [k, v] of Object.entries(values)) expect(await c.get(k, { default: 'DEFAULT' })).toEqual(v);
    });

    it('does not let a caller change what is stored by mutating the value afterwards', async () => {
      const r = run();
      const value = { items: [1, 2] };
      await r.ctx('t').set('K', value);
      value.items.push(3);
      const read = await r.ctx('t').get<{ items: number[] }>('K');
      expect(read).toEqual({ items: [1, 2] });
      read!.items.push(4);
      expect(await r.ctx('t').get('K')).toEqual({ items: [1, 2] });
    });

    it("reads another task's key from its latest try that holds it, whatever the caller's try", async () => {
      const r = run();
      await r.ctx('ocr', 1).set('ONLY_IN_TRY_1', 'one');
      await r.ctx('ocr', 1).set('IN_BOTH', 'from try 1');
      await r.ctx('ocr', 3).set('IN_BOTH', 'from try 3');
      await r.ctx('ocr', 3).set('OTHER', 'x');
      const downstream = r.ctx('classify', 1);
      expect(await downstream.get('IN_BOTH', { fromTask: 'ocr' })).toBe('from try 3');
      // Try 3 does not hold it: the latest try that does (1) answers.
      expect(await downstream.get('ONLY_IN_TRY_1', { fromTask: 'ocr' })).toBe('one');
      expect(await downstream.pull('ONLY_IN_TRY_1', { fromTask: 'ocr' })).toBe('one');
      expect(await downstream.get('NOWHERE', { fromTask: 'ocr', default: 42 })).toBe(42);
      expect(await downstream.get('IN_BOTH', { fromTask: 'no-such-task' })).toBeUndefined();
      const entry = await backend.getLatestFromTask(r.tenantId, r.dagName, r.dagId, 'ocr', 'IN_BOTH');
      expect(entry).toMatchObject({ value: 'from try 3', tryNumber: 3 });
      // Tries are compared as numbers, not as text (10 > 9).
      await r.ctx('ocr', 9).set('NUMERIC', 9);
      await r.ctx('ocr', 10).set('NUMERIC', 10);
      expect(await downstream.get('NUMERIC', { fromTask: 'ocr' })).toBe(10);
    });

    it('pulls from the first task in list order that holds the key (fan-in)', async () => {
      const r = run();
      await r.ctx('b').set('PAGES', 'from b');
      await r.ctx('c', 2).set('PAGES', 'from c');
      await r.ctx('a').set('OTHER', 'a has another key');
      const join = r.ctx('join');
      expect(await join.pull('PAGES', { fromTasks: ['a', 'b', 'c'] })).toBe('from b');
      expect(await join.pull('PAGES', { fromTasks: ['a', 'c', 'b'] })).toBe('from c');
      expect(await join.pull('PAGES', { fromTasks: ['c', 'b'] })).toBe('from c');
      expect(await join.pull('PAGES', { fromTasks: ['a', 'x'], default: [] })).toEqual([]);
      expect(await join.pull('PAGES', { fromTasks: ['a'] })).toBeUndefined();
      // A stored null is a hit, not a miss.
      await r.ctx('a').set('PAGES', null);
      expect(await join.pull('PAGES', { fromTasks: ['a', 'b'], default: 'default' })).toBeNull();
    });

    it('returns defaults for what is missing, and stored falsy values rather than the default', async () => {
      const r = run();
      const c = r.ctx('t');
      expect(await c.get('MISSING')).toBeUndefined();
      expect(await c.get('MISSING', { default: { empty: true } })).toEqual({ empty: true });
      expect(await c.pull('MISSING', { default: 7 })).toBe(7);
      await c.set('ZERO', 0);
      await c.set('FALSE', false);
      await c.set('EMPTY', '');
      await c.set('NULL', null);
      expect(await c.get('ZERO', { default: 1 })).toBe(0);
      expect(await c.get('FALSE', { default: true })).toBe(false);
      expect(await c.get('EMPTY', { default: 'x' })).toBe('');
      expect(await c.get('NULL', { default: 'x' })).toBeNull();
    });

    it('stores metadata beside the value', async () => {
      const r = run();
      const c = r.ctx('t', 2);
      await c.push('TABLE', { rows: 3 }, { metadata: { source: 'ocr', pages: [1, 2], confidence: 0.93 } });
      await c.push('PLAIN', 'no metadata');
      const table = await c.entry('TABLE');
      expect(table).toMatchObject({ value: { rows: 3 }, metadata: { source: 'ocr', pages: [1, 2], confidence: 0.93 } });
      expect((await c.entry('PLAIN'))?.metadata).toEqual({});
      const fromOther = await r.ctx('next').entry('TABLE', { fromTask: 't' });
      expect(fromOther?.metadata).toEqual({ source: 'ocr', pages: [1, 2], confidence: 0.93 });
      const listed = await backend.list(r.tenantId, r.dagName, r.dagId, 't');
      expect(listed.map((e) => [e.key, e.metadata])).toEqual([
        ['PLAIN', {}],
        ['TABLE', { source: 'ocr', pages: [1, 2], confidence: 0.93 }],
      ]);
    });

    it('overwrites a key of the same try (value and metadata)', async () => {
      const r = run();
      const c = r.ctx('t');
      await c.push('K', 'first', { metadata: { v: 1 } });
      const first = await c.entry('K');
      await new Promise((res) => setTimeout(res, 5));
      await c.set('K', { second: true });
      const second = await c.entry('K');
      expect(second).toMatchObject({ value: { second: true }, metadata: {}, tryNumber: 1 });
      expect(second!.createdAt.getTime()).toBeGreaterThan(first!.createdAt.getTime());
      expect(await c.all()).toHaveLength(1);
    });

    it('lists one try by key: the latest that holds anything, or the one asked for', async () => {
      const r = run();
      await r.ctx('t', 1).set('b', 1);
      await r.ctx('t', 1).set('a', 1);
      await r.ctx('t', 2).set('z', 2);
      await r.ctx('t', 2).set('B', 2);
      await r.ctx('t', 2).set('a', 2);
      const latest = await backend.list(r.tenantId, r.dagName, r.dagId, 't');
      expect(latest.map((e) => [e.key, e.value, e.tryNumber])).toEqual([
        ['B', 2, 2],
        ['a', 2, 2],
        ['z', 2, 2],
      ]);
      const first = await backend.list(r.tenantId, r.dagName, r.dagId, 't', 1);
      expect(first.map((e) => [e.key, e.value, e.tryNumber])).toEqual([
        ['a', 1, 1],
        ['b', 1, 1],
      ]);
      expect(await backend.list(r.tenantId, r.dagName, r.dagId, 't', 7)).toEqual([]);
      expect(await backend.list(r.tenantId, r.dagName, r.dagId, 'nothing')).toEqual([]);
    });

    it('lists the latest try of many tasks at once, in the order asked', async () => {
      const r = run();
      await r.ctx('a', 1).set('K', 'a1');
      await r.ctx('a', 2).set('K', 'a2');
      await r.ctx('b', 1).set('K', 'b1');
      await r.ctx('b', 1).set('L', 'b1');
      const other = run({ tenantId: r.tenantId });
      await other.ctx('a').set('K', 'another dag');
      const got = await backend.listLatestForTasks(r.tenantId, [
        { dagId: r.dagId, taskId: 'b', dagName: r.dagName },
        { dagId: r.dagId, taskId: 'missing', dagName: r.dagName },
        { dagId: r.dagId, taskId: 'a', dagName: r.dagName },
        { dagId: other.dagId, taskId: 'a', dagName: other.dagName },
      ]);
      expect(got.map((es) => es.map((e) => [e.key, e.value, e.tryNumber]))).toEqual([
        [
          ['K', 'b1', 1],
          ['L', 'b1', 1],
        ],
        [],
        [['K', 'a2', 2]],
        [['K', 'another dag', 1]],
      ]);
      expect(await backend.listLatestForTasks(r.tenantId, [])).toEqual([]);
    });

    it('never lets a tenant read, list or clear the state of another', async () => {
      const a = run();
      const b = run({ dagId: a.dagId, dagName: a.dagName });
      await a.ctx('ocr').set('SECRET', 'tenant a only');
      expect(await b.ctx('ocr').get('SECRET')).toBeUndefined();
      expect(await b.ctx('next').get('SECRET', { fromTask: 'ocr' })).toBeUndefined();
      expect(await b.ctx('next').pull('SECRET', { fromTasks: ['ocr'] })).toBeUndefined();
      expect(await backend.list(b.tenantId, a.dagName, a.dagId, 'ocr')).toEqual([]);
      expect(
        await backend.listLatestForTasks(b.tenantId, [{ dagId: a.dagId, taskId: 'ocr', dagName: a.dagName }]),
      ).toEqual([[]]);
      await b.ctx('ocr').set('SECRET', 'tenant b');
      await backend.clearTask(b.tenantId, a.dagName, a.dagId, 'ocr');
      expect(await a.ctx('ocr').get('SECRET')).toBe('tenant a only');
      expect(await b.ctx('ocr').get('SECRET')).toBeUndefined();
    });

    it('refuses a value over the size cap (1 MiB serialised, in bytes) with the key named, and stores nothing', async () => {
      const r = run();
      const c = r.ctx('t');
      const fits = 'x'.repeat(DEFAULT_MAX_VALUE_BYTES - 2); // plus the two quotes: exactly the cap
      await c.set('FITS', fits);
      expect(((await c.get<string>('FITS')) ?? '').length).toBe(DEFAULT_MAX_VALUE_BYTES - 2);
      const over = await codeOfRejection(c.set('BIG_BLOB', `${fits}x`));
      expect(over).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' });
      expect(over.message).toContain('"BIG_BLOB"');
      expect(over.message).toContain('1048577 bytes');
      expect(over.message).toContain('the cap is 1048576 bytes (1 MiB)');
      // Bytes, not characters: 2-byte characters reach the cap at half the length.
      const wide = await codeOfRejection(c.set('WIDE', 'é'.repeat(DEFAULT_MAX_VALUE_BYTES / 2)));
      expect(wide.code).toBe('BAD_USER_INPUT');
      const meta = await codeOfRejection(c.push('M', 1, { metadata: { blob: fits } }));
      expect(meta).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metadata' });
      // The backend itself refuses too, for callers that bypass RunContext.
      const direct = await codeOfRejection(backend.put(r.ti('t'), 'DIRECT', `${fits}x`));
      expect(direct.code).toBe('BAD_USER_INPUT');
      expect(await c.get('BIG_BLOB')).toBeUndefined();
      expect(await c.get('WIDE')).toBeUndefined();
      expect(await c.get('M')).toBeUndefined();
      expect(await c.get('DIRECT')).toBeUndefined();
      expect((await c.all()).map((e) => e.key)).toEqual(['FITS']);
    });

    it('refuses what is not plain JSON, naming the key and where, and stores nothing', async () => {
      const r = run();
      const c = r.ctx('t');
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      class Point {
        x = 1;
      }
      const bad: Record<string, unknown> = {
        UNDEFINED: undefined,
        FUNCTION: () => 1,
        BIGINT: 10n,
        NAN: Number.NaN,
        INFINITY: Number.POSITIVE_INFINITY,
        CYCLIC: cyclic,
        DATE: new Date(),
        MAP: new Map([[1, 2]]),
        CLASS: new Point(),
        NESTED_UNDEFINED: { ok: 1, bad: { deeper: undefined } },
        SPARSE: [1, , 3],
        SYMBOL: Symbol('s'),
        NUL: 'a\u0000b',
      };
      for (const [key, value] of Object.entries(bad)) {
        const err = await codeOfRejection(c.set(key, value));
        expect(err, key).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' });
        expect(err.message, key).toContain(`"${key}"`);
        await expect(backend.put(r.ti('t'), key, value)).rejects.toBeInstanceOf(DomainError);
      }
      expect((await codeOfRejection(c.set('NESTED_UNDEFINED', bad.NESTED_UNDEFINED))).message).toContain(
        '$.bad.deeper',
      );
      // Shared (not cyclic) references are fine.
      const shared = { n: 1 };
      await c.set('SHARED', { a: shared, b: shared });
      expect(
        await codeOfRejection(c.push('META', 1, { metadata: [1, 2] as unknown as Record<string, unknown> })),
      ).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metadata' });
      expect(await codeOfRejection(c.push('META', 1, { metadata: { when: new Date() } }))).toMatchObject({
        field: 'metadata',
      });
      expect((await c.all()).map((e) => e.key)).toEqual(['SHARED']);
    });

    it('refuses bad keys and task ids as bad input', async () => {
      const r = run();
      const c = r.ctx('t');
      for (const key of ['', 'a/b', '../x', 'with space', 'k'.repeat(256)]) {
        expect((await codeOfRejection(c.set(key, 1))).field, key).toBe('key');
        expect((await codeOfRejection(c.get(key))).code, key).toBe('BAD_USER_INPUT');
      }
      expect((await codeOfRejection(c.get('K', { fromTask: '../other' }))).field).toBe('fromTask');
      expect((await codeOfRejection(c.pull('K', { fromTasks: ['ok', 'a/b'] }))).field).toBe('fromTasks[1]');
      expect((await codeOfRejection(c.pull('K', { fromTask: 'a', fromTasks: ['b'] }))).code).toBe('BAD_USER_INPUT');
      expect(r.guard.asked).toHaveLength(0);
    });

    it('clears every try of one task, and nothing else', async () => {
      const r = run();
      await r.ctx('ocr', 1).set('K', 1);
      await r.ctx('ocr', 2).set('K', 2);
      await r.ctx('ocr', 2).set('L', 2);
      await r.ctx('ocr-2', 1).set('K', 'a task whose id starts the same');
      await r.ctx('other', 1).set('K', 'other task');
      const otherDag = run({ tenantId: r.tenantId, dagName: r.dagName });
      await otherDag.ctx('ocr').set('K', 'other dag');
      await backend.clearTask(r.tenantId, r.dagName, r.dagId, 'ocr');
      expect(await backend.list(r.tenantId, r.dagName, r.dagId, 'ocr')).toEqual([]);
      expect(await backend.list(r.tenantId, r.dagName, r.dagId, 'ocr', 1)).toEqual([]);
      expect(await r.ctx('x').get('K', { fromTask: 'ocr' })).toBeUndefined();
      expect(await r.ctx('ocr-2').get('K')).toBe('a task whose id starts the same');
      expect(await r.ctx('other').get('K')).toBe('other task');
      expect(await otherDag.ctx('ocr').get('K')).toBe('other dag');
      // Clearing nothing is fine; the rerun writes afresh.
      await backend.clearTask(r.tenantId, r.dagName, r.dagId, 'ocr');
      await r.ctx('ocr', 3).set('K', 3);
      expect(await r.ctx('x').get('K', { fromTask: 'ocr' })).toBe(3);
    });

    it('asks the guard before every write and stores nothing for a stale attempt', async () => {
      const r = run();
      r.guard.stale.add('ocr@1');
      const stale = r.ctx('ocr', 1);
      const refused = await codeOfRejection(stale.set('K', 'late write'));
      expect(refused.code).toBe('CONFLICT');
      expect(refused.message).toContain('stale');
      expect((await codeOfRejection(stale.push('P', 1, { metadata: { m: 1 } }))).code).toBe('CONFLICT');
      expect(await backend.get(r.ti('ocr', 1), 'K')).toBeNull();
      expect(await backend.get(r.ti('ocr', 1), 'P')).toBeNull();
      expect(await backend.list(r.tenantId, r.dagName, r.dagId, 'ocr', 1)).toEqual([]);
      expect(await r.ctx('next').get('K', { fromTask: 'ocr' })).toBeUndefined();
      // The current attempt writes; every write asked the guard, with its own attempt.
      await r.ctx('ocr', 2).set('K', 'current');
      expect(await r.ctx('next').get('K', { fromTask: 'ocr' })).toBe('current');
      expect(r.guard.asked.map((ti) => `${ti.taskId}@${ti.tryNumber}`)).toEqual(['ocr@1', 'ocr@1', 'ocr@2']);
      // Reads never ask.
      await stale.get('K');
      expect(r.guard.asked).toHaveLength(3);
    });
  });
}
