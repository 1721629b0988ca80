import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDataSource } from '../../src/db/data-source';
import { SqlCounter } from '../../src/db/sql-counter';
import { MemoryStateBackend } from '../../src/state/backends/memory-state-backend';
import { PostgresStateBackend } from '../../src/state/backends/postgres-state-backend';
import { S3StateBackend } from '../../src/state/backends/s3-state-backend';
import { createBackend, createBackendFromUrl } from '../../src/state/create-backend';
import { TaskInstanceRef } from '../../src/state/task-instance-ref';
import { startTestS3, type TestS3 } from '../support/s3-server';
import { codeOfRejection, stateBackendContract } from '../support/state-backend-contract';

let s3: TestS3;
let ds: DataSource;
const sql = new SqlCounter();

beforeAll(async () => {
  s3 = await startTestS3();
  await s3.createBucket('task-state');
  ds = createDataSource({ url: inject('databaseUrl'), logger: sql });
  await ds.initialize();
});
afterAll(async () => {
  await ds?.destroy();
  await s3?.stop();
});

const s3Options = () => ({
  endpoint: s3.endpoint,
  accessKeyId: s3.accessKeyId,
  secretAccessKey: s3.secretAccessKey,
  forcePathStyle: true,
});

stateBackendContract('memory', async () => ({ backend: createBackendFromUrl('memory://') }));
stateBackendContract('postgres (own pool, from a URL)', async () => ({
  backend: createBackendFromUrl(inject('databaseUrl')),
}));
stateBackendContract('postgres (the app DataSource)', async () => ({
  backend: createBackend('postgres', { dataSource: ds }),
}));
stateBackendContract('s3 (S3-protocol server)', async () => ({
  backend: createBackendFromUrl(`s3://task-state/contract-${randomBytes(3).toString('hex')}`, { s3: s3Options() }),
}));

const ti = (taskId = 'ocr', tryNumber = 2) =>
  new TaskInstanceRef({
    tenantId: `tenant-${randomBytes(4).toString('hex')}`,
    dagName: 'document_pipeline',
    dagId: `run-${randomBytes(4).toString('hex')}`,
    taskId,
    tryNumber,
  });

describe('createBackend / createBackendFromUrl', () => {
  it('picks the backend from the URL scheme', async () => {
    const made = [
      createBackendFromUrl('memory://'),
      createBackendFromUrl(inject('databaseUrl')),
      createBackendFromUrl(inject('databaseUrl').replace(/^postgresql:/, 'postgres:')),
      createBackendFromUrl('s3://bucket/some/prefix', { s3: s3Options() }),
      createBackend('memory'),
      createBackend('postgres', { dataSource: ds }),
    ];
    expect(made.map((b) => b.constructor.name)).toEqual([
      'MemoryStateBackend',
      'PostgresStateBackend',
      'PostgresStateBackend',
      'S3StateBackend',
      'MemoryStateBackend',
      'PostgresStateBackend',
    ]);
    await Promise.all(made.map((b) => b.close()));
  });

  it('refuses URLs it cannot use', () => {
    expect(() => createBackendFromUrl('redis://localhost')).toThrow(/unsupported scheme redis:/);
    expect(() => createBackendFromUrl('not a url')).toThrow(/not a URL/);
    expect(() => createBackendFromUrl('s3:///prefix-only')).toThrow(/no bucket/);
    expect(() => createBackend('s3', {})).toThrow(/bucket/);
    expect(() => createBackend('postgres', {})).toThrow(/dataSource or a url/);
  });

  it('applies a configured size cap', async () => {
    const small = createBackend('memory', { maxValueBytes: 10 });
    const t = ti();
    await small.put(t, 'K', '12345678');
    const err = await codeOfRejection(small.put(t, 'K', '123456789'));
    expect(err.message).toMatch(/11 B serialised; the cap is 10 B/);
    expect((await small.get(t, 'K'))?.value).toBe('12345678');
  });
});

describe('postgres backend', () => {
  it("stores rows in the seed's task_state table and key", async () => {
    const backend = new PostgresStateBackend({ dataSource: ds });
    const t = ti('extract', 3);
    await backend.put(t, 'TEXT', { lines: ['a'] }, { source: 'ocr' });
    const client = new Client({ connectionString: inject('databaseUrl') });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT tenant_id, dag_name, dag_id, task_id, try_number, key, value_json, metadata
         FROM task_state WHERE tenant_id = $1`,
        [t.tenantId],
      );
      expect(rows).toEqual([
        {
          tenant_id: t.tenantId,
          dag_name: 'document_pipeline',
          dag_id: t.dagId,
          task_id: 'extract',
          try_number: 3,
          key: 'TEXT',
          value_json: { lines: ['a'] },
          metadata: { source: 'ocr' },
        },
      ]);
      const pk = await client.query(
        `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols
         FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
         WHERE i.indrelid = 'task_state'::regclass AND i.indisprimary`,
      );
      expect(pk.rows[0].cols).toEqual(['tenant_id', 'dag_name', 'dag_id', 'task_id', 'try_number', 'key']);
    } finally {
      await client.end();
    }
  });

  it('lists the latest state of many tasks in one SQL statement', async () => {
    const backend = new PostgresStateBackend({ dataSource: ds });
    const a = ti('a', 1);
    await backend.put(a, 'K', 1);
    await backend.put(a.withTryNumber(2), 'K', 2);
    await backend.put(a.forTask('b', 1), 'K', 'b');
    const tasks = ['a', 'b', 'c', 'd', 'e'].map((taskId) => ({ dagId: a.dagId, taskId }));
    const before = sql.total;
    const got = await backend.listLatestForTasks(a.tenantId, tasks);
    expect(sql.total - before).toBe(1);
    expect(got.map((es) => es.map((e) => e.value))).toEqual([[2], ['b'], [], [], []]);
  });
});

describe('s3 backend', () => {
  it("writes the seed's object key layout and JSON body, and lists without CommonPrefixes", async () => {
    const backend = new S3StateBackend({ bucket: 'task-state', prefix: 'marie-state', ...s3Options() });
    const t = ti('extract_text', 4);
    const stored = await backend.put(t, 'RESULT', { text: 'Hello World' }, { pages: 2 });
    const objectKey = `marie-state/${t.tenantId}/document_pipeline/${t.dagId}/extract_text/4/RESULT.json`;
    const got = await s3.client.send(new GetObjectCommand({ Bucket: 'task-state', Key: objectKey }));
    const body = JSON.parse((await got.Body?.transformToString()) ?? '') as Record<string, unknown>;
    expect(body).toEqual({
      value: { text: 'Hello World' },
      metadata: { pages: 2 },
      created_at: stored.createdAt.toISOString(),
      task_instance: {
        tenant_id: t.tenantId,
        dag_name: 'document_pipeline',
        dag_id: t.dagId,
        task_id: 'extract_text',
        try_number: 4,
      },
    });
    expect((await backend.get(t, 'RESULT'))?.createdAt.toISOString()).toBe(stored.createdAt.toISOString());
    // An object the seed's layout does not describe (no .json) is ignored by reads, removed by clearTask.
    const stray = `marie-state/${t.tenantId}/document_pipeline/${t.dagId}/extract_text/4/notes.txt`;
    await s3.client.send(new PutObjectCommand({ Bucket: 'task-state', Key: stray, Body: 'x' }));
    expect((await backend.list(t.tenantId, t.dagName, t.dagId, 'extract_text')).map((e) => e.key)).toEqual(['RESULT']);
    await backend.clearTask(t.tenantId, t.dagName, t.dagId, 'extract_text');
    const left = await s3.client.send(
      new ListObjectsV2Command({ Bucket: 'task-state', Prefix: `marie-state/${t.tenantId}/` }),
    );
    expect(left.Contents ?? []).toEqual([]);
    await backend.close();
  });

  it('takes the bucket and prefix from an s3:// URL', async () => {
    const backend = createBackendFromUrl('s3://task-state/deep/pre/fix/', { s3: s3Options() });
    const t = ti('a', 1);
    await backend.put(t, 'K', 1);
    const listed = await s3.client.send(
      new ListObjectsV2Command({ Bucket: 'task-state', Prefix: `deep/pre/fix/${t.tenantId}/` }),
    );
    expect(listed.Contents?.map((o) => o.Key)).toEqual([
      `deep/pre/fix/${t.tenantId}/document_pipeline/${t.dagId}/a/1/K.json`,
    ]);
    await backend.close();
  });

  it('pages through listings of more than one page', async () => {
    const backend = new S3StateBackend({ bucket: 'task-state', prefix: 'paged', ...s3Options() });
    const t = ti('many', 1);
    const keys = Array.from({ length: 1005 }, (_, i) => `K${String(i).padStart(4, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(keys.slice(i, i + 50).map((k) => backend.put(t, k, k)));
    }
    const all = await backend.list(t.tenantId, t.dagName, t.dagId, 'many');
    expect(all).toHaveLength(1005);
    expect((await backend.getLatestFromTask(t.tenantId, t.dagName, t.dagId, 'many', 'K1004'))?.value).toBe('K1004');
    await backend.clearTask(t.tenantId, t.dagName, t.dagId, 'many');
    expect(await backend.list(t.tenantId, t.dagName, t.dagId, 'many')).toEqual([]);
    await backend.close();
  }, 120_000);
});

describe('memory backend', () => {
  it('forgets everything on close', async () => {
    const backend = new MemoryStateBackend();
    const t = ti();
    await backend.put(t, 'K', 1);
    await backend.close();
    expect(await backend.get(t, 'K')).toBeNull();
  });
});
