import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signAttemptToken, verifyAttemptToken, type AttemptTokenClaims } from '../src/core/attempt-token';
import { attemptTokenSecret, attemptTokenSecretFile, ConfigError, loadConfig } from '../src/config/config';

const SECRET = 'unit-attempt-token-secret-0123456789abcdef';
const NOW = 1_800_000_000_000;
const claims: AttemptTokenClaims = {
  t: '7b0c7f0e-1c1e-4b7e-9d2a-3f4e5a6b7c8d',
  j: '0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6',
  n: 2,
  d: 3,
  x: NOW / 1000 + 60,
};

describe('attempt tokens: sign and verify', () => {
  it('verifies a token it signed and returns its claims', () => {
    const token = signAttemptToken(claims, SECRET);
    expect(token).toMatch(/^mat_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(verifyAttemptToken(token, SECRET, NOW)).toEqual(claims);
  });

  it('refuses a token signed with another secret', () => {
    expect(verifyAttemptToken(signAttemptToken(claims, 'another-secret-0123456789abcdefghij'), SECRET, NOW)).toBeNull();
  });

  it('refuses a tampered payload and a tampered signature', () => {
    const token = signAttemptToken(claims, SECRET);
    const [payload, sig] = token.slice(4).split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, n: 3 })).toString('base64url');
    expect(verifyAttemptToken(`mat_${forged}.${sig}`, SECRET, NOW)).toBeNull();
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    expect(verifyAttemptToken(`mat_${payload}.${flipped}`, SECRET, NOW)).toBeNull();
    expect(verifyAttemptToken(`mat_${payload}.${sig.slice(0, -2)}`, SECRET, NOW)).toBeNull();
  });

  it('refuses a token from its expiry second on', () => {
    const token = signAttemptToken(claims, SECRET);
    expect(verifyAttemptToken(token, SECRET, claims.x * 1000 - 1)).not.toBeNull();
    expect(verifyAttemptToken(token, SECRET, claims.x * 1000)).toBeNull();
  });

  it('refuses malformed tokens, and signed payloads that are not claims', () => {
    const good = signAttemptToken(claims, SECRET);
    for (const bad of [
      '',
      'mat_',
      'mat_.',
      'mk_abc.def',
      good.slice(4),
      `${good}.x`,
      'mat_a b.c',
      `mat_${'a'.repeat(2000)}.b`,
    ]) {
      expect(verifyAttemptToken(bad, SECRET, NOW)).toBeNull();
    }
    // Correctly signed, but not JSON / not the claims' shape.
    const signed = (text: string) => {
      const p = Buffer.from(text).toString('base64url');
      return `mat_${p}.${createHmac('sha256', SECRET).update(p).digest('base64url')}`;
    };
    expect(verifyAttemptToken(signed('{"t":"a","j":"b","n":1,"d":1,"x":1900000000}'), SECRET, NOW)).not.toBeNull();
    expect(verifyAttemptToken(signed('not json'), SECRET, NOW)).toBeNull();
    expect(verifyAttemptToken(signed('{"t":"a","j":"b","n":"1","d":1,"x":1900000000}'), SECRET, NOW)).toBeNull();
    expect(verifyAttemptToken(signed('[1]'), SECRET, NOW)).toBeNull();
  });

  it('refuses everything without a secret', () => {
    expect(verifyAttemptToken(signAttemptToken(claims, SECRET), '', NOW)).toBeNull();
    expect(() => signAttemptToken(claims, '')).toThrow();
  });
});

describe('ATTEMPT_TOKEN_SECRET', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'marie-secret-'));
    dirs.push(d);
    return path.join(d, 'data');
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('is the variable when set', () => {
    const cfg = loadConfig({}, { NODE_ENV: 'production', ATTEMPT_TOKEN_SECRET: SECRET, DATA_DIR: tmp() });
    expect(cfg.attemptTokenSecret).toBe(SECRET);
  });

  it('is generated once into DATA_DIR (mode 0600) outside production, and reused', () => {
    const dataDir = tmp();
    const first = loadConfig({}, { NODE_ENV: 'development', DATA_DIR: dataDir }).attemptTokenSecret;
    expect(first.length).toBeGreaterThanOrEqual(32);
    const file = attemptTokenSecretFile(dataDir);
    expect(readFileSync(file, 'utf8').trim()).toBe(first);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadConfig({}, { NODE_ENV: 'test', DATA_DIR: dataDir }).attemptTokenSecret).toBe(first);
    expect(attemptTokenSecret(undefined, false, dataDir)).toBe(first);
    expect(attemptTokenSecret(undefined, false, tmp())).not.toBe(first);
  });

  it('is required in production: a ConfigError naming the variable', () => {
    const dataDir = tmp();
    let err: unknown;
    try {
      loadConfig({}, { NODE_ENV: 'production', DATA_DIR: dataDir });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/ATTEMPT_TOKEN_SECRET/);
    expect(() => loadConfig({}, { NODE_ENV: 'production', ATTEMPT_TOKEN_SECRET: 'short' })).toThrow(
      /ATTEMPT_TOKEN_SECRET/,
    );
  });
});
