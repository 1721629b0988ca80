import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  computeAssetVersion,
  createStorage,
  createTestCallContext,
  Executor,
  ExecutorHost,
  MemoryAssetTracker,
  NonRetryableError,
  requests,
  type CallContext,
  type ExecutorInput,
  type Storage,
} from '../src/sdk/index';
import { startTestS3, type TestS3 } from './support/s3-server';

class Router extends Executor {
  @requests({ on: '/extract' })
  extract(input: ExecutorInput) {
    return { endpoint: 'extract', docs: input.docs.length };
  }

  @requests({ on: ['/a', 'b/'] })
  async several(_input: ExecutorInput, ctx: CallContext) {
    await new Promise((r) => setTimeout(r, 5));
    return { endpoint: 'several', asked: ctx.endpoint };
  }

  @requests()
  fallback(_input: ExecutorInput, ctx: CallContext) {
    return { endpoint: 'default', asked: ctx.endpoint };
  }
}

class NoDefault extends Executor {
  @requests({ on: '/only' })
  only() {
    return 'only';
  }

  @requests({ on: '/boom' })
  async boom(): Promise<never> {
    throw new Error('the model ran out of memory');
  }
}

const Params = z.object({ threshold: z.number().min(0).max(1), mode: z.enum(['fast', 'best']).default('fast') });

class Validated extends Executor {
  @requests({ on: '/score', params: Params })
  score(input: ExecutorInput<z.infer<typeof Params>>) {
    return { ...input.parameters, docs: input.docs.map((d) => d.id) };
  }
}

class Waiter extends Executor {
  started: (() => void) | null = null;

  @requests({ on: '/wait' })
  wait(_input: ExecutorInput, ctx: CallContext) {
    return new Promise((resolve, reject) => {
      this.started?.();
      const t = setTimeout(() => resolve('finished'), 20_000);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(t);
        reject(ctx.signal.reason as Error);
      });
    });
  }
}

class Closing extends Executor {
  closes = 0;

  @requests()
  run() {
    return null;
  }

  override async close(): Promise<void> {
    this.closes++;
  }
}

class Persisting extends Executor {
  override codeFingerprint = 'git:abcd1234';
  override promptFingerprint = 'craft-ocr-v2';

  @requests({ on: '/ocr' })
  async ocr(_input: ExecutorInput, ctx: CallContext) {
    return ctx.persist([
      { assetKey: 'ocr/text', data: 'Hello World', metadata: { words: 2 } },
      { assetKey: 'ocr/bboxes', data: [{ x: 1, y: 2, w: 3, h: 4 }], kind: 'bbox', promptFingerprint: null },
      { assetKey: 'ocr/raw', data: Buffer.from([0, 1, 2, 3]), upstream: [] },
    ]);
  }
}

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let tmp: string;
let storage: Storage;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-sdk-'));
  storage = createStorage(`file://${tmp}/out`);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('asset versions (FRAMED)', () => {
  it('matches the DESIGN.md vectors', () => {
    expect(
      computeAssetVersion({
        payload: 'Hello World',
        codeFingerprint: 'git:abcd1234',
        promptFingerprint: 'craft-ocr-v2',
        upstreamVersions: ['v:sha256:bb', 'v:sha256:aa'],
      }),
    ).toBe('v:sha256:d25e97edc4041c6b744404841e2ec72ea94913d0f6ce8718cf2fb9b3e176917b');
    expect(computeAssetVersion({})).toBe('v:sha256:b7af3a56eefc2bd520d0b49c1bc8fd58264d79f5e6cc86627c7576b970650b09');
  });

  it('is unambiguous, ignores upstream order and duplicates', () => {
    expect(computeAssetVersion({ payload: 'ab', codeFingerprint: 'c' })).not.toBe(
      computeAssetVersion({ payload: 'a', codeFingerprint: 'bc' }),
    );
    expect(computeAssetVersion({ payload: 'x', upstreamVersions: ['v:2', 'v:1', 'v:2'] })).toBe(
      computeAssetVersion({ payload: 'x', upstreamVersions: ['v:1', 'v:2'] }),
    );
    expect(computeAssetVersion({ payload: Buffer.from('Hello World') })).toBe(
      computeAssetVersion({ payload: 'Hello World' }),
    );
  });
});

describe('endpoint routing', () => {
  const host = () => new ExecutorHost(new Router(), { storage });

  it('routes by path, with or without the leading slash, several paths per method, sync and async', async () => {
    const h = host();
    await expect(
      h.invoke({ docs: [{ id: '1' }, { id: '2' }] }, createTestCallContext({ endpoint: '/extract' })),
    ).resolves.toEqual({
      endpoint: 'extract',
      docs: 2,
    });
    await expect(h.invoke({}, createTestCallContext({ endpoint: 'extract' }))).resolves.toMatchObject({
      endpoint: 'extract',
    });
    await expect(h.invoke({}, createTestCallContext({ endpoint: 'a' }))).resolves.toEqual({
      endpoint: 'several',
      asked: 'a',
    });
    await expect(h.invoke({}, createTestCallContext({ endpoint: '/b' }))).resolves.toEqual({
      endpoint: 'several',
      asked: '/b',
    });
    expect(h.endpoints).toEqual(['/extract', '/a', '/b', '*']);
  });

  it('sends any unmatched name to the default endpoint', async () => {
    await expect(host().invoke({}, createTestCallContext({ endpoint: '/classify' }))).resolves.toEqual({
      endpoint: 'default',
      asked: '/classify',
    });
  });

  it('fails a name with no matching endpoint and no default as non-retryable', async () => {
    const h = new ExecutorHost(new NoDefault(), { storage });
    const err = await h.invoke({}, createTestCallContext({ endpoint: '/missing' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toBe('executor "NoDefault" has no endpoint "/missing" (it serves: /only, /boom)');
  });

  it("lets an endpoint's exception fail the attempt with its message (retryable)", async () => {
    const h = new ExecutorHost(new NoDefault(), { storage });
    const err = await h.invoke({}, createTestCallContext({ endpoint: '/boom' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toBe('the model ran out of memory');
  });

  it('refuses two methods on one path, and two defaults', () => {
    expect(() => {
      class Clash extends Executor {
        @requests({ on: '/x' })
        a() {}
        @requests({ on: 'x' })
        b() {}
      }
      return Clash;
    }).toThrow('endpoint /x is on both a and b');
    expect(() => {
      class TwoDefaults extends Executor {
        @requests()
        a() {}
        @requests()
        b() {}
      }
      return TwoDefaults;
    }).toThrow('a and b are both the default endpoint');
  });

  it('lets a subclass override an inherited endpoint', async () => {
    class Child extends Router {
      @requests({ on: '/extract' })
      extract2() {
        return 'child';
      }
    }
    await expect(
      new ExecutorHost(new Child(), { storage }).invoke({}, createTestCallContext({ endpoint: 'extract' })),
    ).resolves.toBe('child');
  });
});

describe('parameters', () => {
  const host = new ExecutorHost(new Validated(), { storage });
  const call = (data: unknown) => host.invoke(data, createTestCallContext({ endpoint: '/score' }));

  it('validates and defaults parameters before the call', async () => {
    await expect(call({ docs: [{ id: 'd1' }], parameters: { threshold: 0.7 } })).resolves.toEqual({
      threshold: 0.7,
      mode: 'fast',
      docs: ['d1'],
    });
  });

  it('takes the whole data as parameters when it has neither docs nor parameters', async () => {
    await expect(call({ threshold: 0.2, mode: 'best' })).resolves.toEqual({ threshold: 0.2, mode: 'best', docs: [] });
  });

  it('fails bad parameters as non-retryable, naming the parameter', async () => {
    const err = await call({ parameters: { threshold: 'high' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toMatch(
      /^executor "Validated" endpoint "\/score": invalid parameters: parameters\.threshold: .*number/,
    );
    const err2 = await call({ parameters: { threshold: 2, mode: 'slow' } }).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain('parameters.threshold:');
    expect((err2 as Error).message).toContain('parameters.mode:');
  });

  it('fails docs that are not an array of objects as non-retryable', async () => {
    const err = await call({ docs: 'nope', parameters: { threshold: 0 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryableError);
    expect((err as Error).message).toContain('data.docs must be an array, got string');
    const err2 = await call({ docs: [{}, 3], parameters: { threshold: 0 } }).catch((e: unknown) => e);
    expect((err2 as Error).message).toContain('data.docs[1] must be a JSON object');
  });
});

describe('cancellation, lifecycle and executor properties', () => {
  it('reaches a running call through its AbortSignal', async () => {
    const exec = new Waiter();
    const started = new Promise<void>((r) => (exec.started = r));
    const ctx = createTestCallContext({ endpoint: '/wait' });
    const running = new ExecutorHost(exec, { storage }).invoke({}, ctx);
    await started;
    ctx.abort(new Error('job cancelled'));
    await expect(running).rejects.toThrow('job cancelled');
  });

  it('does not start a call whose signal is already aborted', async () => {
    const exec = new Waiter();
    let called = false;
    exec.started = () => (called = true);
    const ctx = createTestCallContext({ endpoint: '/wait' });
    ctx.abort(new Error('cancelled before start'));
    await expect(new ExecutorHost(exec, { storage }).invoke({}, ctx)).rejects.toThrow('cancelled before start');
    expect(called).toBe(false);
  });

  it('calls close() on shutdown, once', async () => {
    const exec = new Closing();
    const h = new ExecutorHost(exec, { storage });
    await h.close();
    await h.close();
    expect(exec.closes).toBe(1);
  });

  it('has metas, runtimeArgs and a workspace folder created on demand', async () => {
    const exec = new Closing({
      metas: { name: 'closer', description: 'closes', workspace: path.join(tmp, 'ws') },
      runtimeArgs: { replicaId: 2, replicas: 3 },
    });
    expect(exec.metas).toEqual({ name: 'closer', description: 'closes', workspace: path.join(tmp, 'ws') });
    expect(exec.runtimeArgs).toEqual({ replicaId: 2, replicas: 3 });
    const dir = exec.workspace;
    expect(dir).toBe(path.join(tmp, 'ws', 'closer', '2'));
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect(new Closing().metas.name).toBe('Closing');
    const h = new ExecutorHost(exec, { storage, concurrency: 4, requiresGpu: true });
    expect([h.name, h.concurrency, h.requiresGpu]).toEqual(['closer', 4, true]);
  });

  it('passes progress() through to the worker', async () => {
    class Progressing extends Executor {
      @requests()
      async run(_i: ExecutorInput, ctx: CallContext) {
        await ctx.progress(50, 'half');
        return 'ok';
      }
    }
    const ctx = createTestCallContext();
    await new ExecutorHost(new Progressing(), { storage }).invoke({}, ctx);
    expect(ctx.progressReports).toEqual([{ percent: 50, message: 'half' }]);
  });
});

describe('persist()', () => {
  const upstream = [
    { assetKey: 'source/document', version: 'v:sha256:aa', partitionKey: null, uri: null, nodeTaskId: 'ingest' },
  ];

  it('writes to file:// storage and records every output in one call with size, checksum, uri and version', async () => {
    const ctx = createTestCallContext({ endpoint: '/ocr', dagId: 'dag-1', taskId: 'ocr', tryNumber: 2, upstream });
    const result = (await new ExecutorHost(new Persisting(), { storage }).invoke({}, ctx)) as Awaited<
      ReturnType<CallContext['persist']>
    >;
    expect(result.record.ok).toBe(true);
    expect(ctx.assets.calls).toHaveLength(1);
    const [call] = ctx.assets.calls;
    expect(call.upstream).toEqual([{ assetKey: 'source/document', version: 'v:sha256:aa', partitionKey: null }]);
    const [text, bboxes, raw] = call.assets;

    const textFile = fileURLToPath(text.uri!);
    expect(textFile).toBe(path.join(tmp, 'out', ctx.tenantId, 'dag-1', 'ocr', '2', 'ocr', 'text.txt'));
    expect(await readFile(textFile, 'utf8')).toBe('Hello World');
    expect(text).toMatchObject({
      assetKey: 'ocr/text',
      kind: 'text',
      sizeBytes: 11,
      checksum: sha('Hello World'),
      metadata: { words: 2 },
      codeFingerprint: 'git:abcd1234',
      promptFingerprint: 'craft-ocr-v2',
      partitionKey: null,
      version: computeAssetVersion({
        payload: 'Hello World',
        codeFingerprint: 'git:abcd1234',
        promptFingerprint: 'craft-ocr-v2',
        upstreamVersions: ['v:sha256:aa'],
      }),
    });

    const bboxJson = JSON.stringify([{ x: 1, y: 2, w: 3, h: 4 }]);
    expect(await readFile(fileURLToPath(bboxes.uri!), 'utf8')).toBe(bboxJson);
    expect(bboxes).toMatchObject({
      kind: 'bbox',
      promptFingerprint: null,
      checksum: sha(bboxJson),
      version: computeAssetVersion({
        payload: bboxJson,
        codeFingerprint: 'git:abcd1234',
        upstreamVersions: ['v:sha256:aa'],
      }),
    });
    expect(raw).toMatchObject({
      kind: 'binary',
      sizeBytes: 4,
      version: computeAssetVersion({
        payload: Buffer.from([0, 1, 2, 3]),
        codeFingerprint: 'git:abcd1234',
        promptFingerprint: 'craft-ocr-v2',
      }),
    });
    expect(raw.uri!.endsWith('/ocr/raw.bin')).toBe(true);
    expect(await storage.get(text.uri!)).toEqual(Buffer.from('Hello World'));
    expect(result.assets.map((a) => a.assetKey)).toEqual(['ocr/text', 'ocr/bboxes', 'ocr/raw']);
  });

  it('puts the partition key in the path and on the materialization', async () => {
    const ctx = createTestCallContext({ endpoint: '/ocr', partitionKey: '2025-01-01' });
    await new ExecutorHost(new Persisting(), { storage }).invoke({}, ctx);
    const text = ctx.assets.recorded[0];
    expect(text.partitionKey).toBe('2025-01-01');
    expect(text.uri!.endsWith('/ocr/text@2025-01-01.txt')).toBe(true);
  });

  it('never fails the job when recording fails', async () => {
    const tracker = new MemoryAssetTracker();
    tracker.record = () => Promise.reject(new Error('tracker down'));
    const warnings: string[] = [];
    const ctx = createTestCallContext({ endpoint: '/ocr', assets: tracker });
    const h = new ExecutorHost(new Persisting(), { storage, log: { warn: (_o, msg) => warnings.push(msg) } });
    const result = (await h.invoke({}, ctx)) as Awaited<ReturnType<CallContext['persist']>>;
    expect(result.record).toMatchObject({ ok: false, error: 'tracker down' });
    expect(result.assets).toHaveLength(3);
    expect(warnings).toContain('asset recording failed');
  });

  it('refuses a storage key that would climb out of its folder', async () => {
    await expect(storage.put('a/../../etc/passwd', 'x')).rejects.toThrow('without empty, "." or ".." segments');
    await expect(storage.get(`file://${tmp}/elsewhere.txt`)).rejects.toThrow('lies outside the storage');
  });

  describe('on s3://', () => {
    let s3: TestS3;
    beforeAll(async () => {
      s3 = await startTestS3();
      await s3.createBucket('outputs');
    });
    afterAll(async () => {
      await s3.stop();
    });

    it('writes to a real S3-protocol server and records the s3:// uris', async () => {
      const s3storage = createStorage('s3://outputs/pipeline/run1', {
        s3: {
          endpoint: s3.endpoint,
          forcePathStyle: true,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        },
      });
      const ctx = createTestCallContext({ endpoint: '/ocr', dagId: 'dag-s3', taskId: 'ocr', upstream });
      const h = new ExecutorHost(new Persisting(), { storage: s3storage, closeStorage: true });
      await h.invoke({}, ctx);
      expect(ctx.assets.calls).toHaveLength(1);
      const text = ctx.assets.recorded[0];
      expect(text.uri).toBe(`s3://outputs/pipeline/run1/${ctx.tenantId}/dag-s3/ocr/1/ocr/text.txt`);
      expect(text.sizeBytes).toBe(11);
      expect(text.checksum).toBe(sha('Hello World'));
      // Read back through the storage and straight from the server.
      expect((await s3storage.get(text.uri!)).toString('utf8')).toBe('Hello World');
      const { GetObjectCommand } = await import('@aws-sdk/client-s3');
      const obj = await s3.client.send(
        new GetObjectCommand({ Bucket: 'outputs', Key: text.uri!.slice('s3://outputs/'.length) }),
      );
      expect(await obj.Body!.transformToString()).toBe('Hello World');
      expect(obj.ContentType).toContain('text/plain');
      await h.close();
    });
  });
});
