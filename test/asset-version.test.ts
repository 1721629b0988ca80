import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeAssetVersion } from '../src/core/asset-version';
import { AssetTracker } from '../src/worker/asset-tracker';
import { codeOf, ok, startTestApp, type TestApp } from './support/test-app';

const VECTOR = {
  payload: 'Hello World',
  codeFingerprint: 'git:abcd1234',
  promptFingerprint: 'craft-ocr-v2',
  upstreamVersions: ['v:sha256:bb', 'v:sha256:aa'],
};
const FRAMED = 'v:sha256:d25e97edc4041c6b744404841e2ec72ea94913d0f6ce8718cf2fb9b3e176917b';
const COMPAT = 'v:sha256:327cba6a8ccbbd151f6c7493da7951346ae5d97786bd1985598f88942fd0bb24';
const EMPTY = 'v:sha256:b7af3a56eefc2bd520d0b49c1bc8fd58264d79f5e6cc86627c7576b970650b09';

describe('computeAssetVersion (pure)', () => {
  it('matches the DESIGN.md vectors', () => {
    expect(computeAssetVersion(VECTOR)).toBe(FRAMED);
    expect(computeAssetVersion({ ...VECTOR, scheme: 'FRAMED' })).toBe(FRAMED);
    expect(computeAssetVersion({ ...VECTOR, scheme: 'MARIE_COMPAT' })).toBe(COMPAT);
    expect(computeAssetVersion({ payload: '' })).toBe(EMPTY);
    expect(computeAssetVersion({ payload: Buffer.alloc(0), upstreamVersions: [] })).toBe(EMPTY);
  });

  it('takes bytes and strings alike, ignores upstream order and duplicates (FRAMED)', () => {
    expect(computeAssetVersion({ ...VECTOR, payload: Buffer.from('Hello World') })).toBe(FRAMED);
    expect(computeAssetVersion({ ...VECTOR, upstreamVersions: ['v:sha256:aa', 'v:sha256:bb', 'v:sha256:aa'] })).toBe(
      FRAMED,
    );
  });

  it('is unambiguous when FRAMED and ambiguous in MARIE_COMPAT', () => {
    const a = { payload: 'ab', codeFingerprint: 'c' };
    const b = { payload: 'a', codeFingerprint: 'bc' };
    expect(computeAssetVersion(a)).not.toBe(computeAssetVersion(b));
    expect(computeAssetVersion({ ...a, scheme: 'MARIE_COMPAT' })).toBe(
      computeAssetVersion({ ...b, scheme: 'MARIE_COMPAT' }),
    );
  });

  it('is the function the SDK exports', () => {
    expect(AssetTracker.computeAssetVersion(VECTOR)).toBe(FRAMED);
    expect(AssetTracker.computeAssetVersion({ ...VECTOR, scheme: 'MARIE_COMPAT' })).toBe(COMPAT);
  });
});

describe('computeAssetVersion query', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.stop();
  });
  const q = 'query ($i: ComputeAssetVersionInput!) { computeAssetVersion(input: $i) }';

  it('gives the same versions as the SDK, FRAMED by default', async () => {
    const { key } = await t.tenant('reader');
    const input = {
      payloadBase64: Buffer.from('Hello World').toString('base64'),
      codeFingerprint: VECTOR.codeFingerprint,
      promptFingerprint: VECTOR.promptFingerprint,
      upstreamVersions: VECTOR.upstreamVersions,
    };
    expect(ok(await t.gql<{ computeAssetVersion: string }>(q, { i: input }, key)).computeAssetVersion).toBe(FRAMED);
    const compat = await t.gql<{ computeAssetVersion: string }>(q, { i: { ...input, scheme: 'MARIE_COMPAT' } }, key);
    expect(ok(compat).computeAssetVersion).toBe(COMPAT);
    const empty = await t.gql<{ computeAssetVersion: string }>(q, { i: { payloadBase64: '' } }, key);
    expect(ok(empty).computeAssetVersion).toBe(EMPTY);
  });

  it('refuses a payload that is not base64', async () => {
    const { key } = await t.tenant('reader');
    const res = await t.gql(q, { i: { payloadBase64: 'not base64!' } }, key);
    expect(codeOf(res)).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.field).toBe('input.payloadBase64');
  });
});
