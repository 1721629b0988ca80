import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { parseQuotaPolicy, policyOf, QuotaPolicyError } from '../src/core/quota-policy';
import { loadConfig } from '../src/config/config';
import { QuotaPolicyService } from '../src/services/quota-policy.service';
import { waitFor } from './support/dag-helpers';

const GOOD = `
default: { weight: 1, maxActiveJobs: 50 }
tenants:
  acme:
    weight: 3
    maxActiveJobs: 5
    maxActiveJobsPerExecutor: { ocr: 3 }
    rateLimits: { ocr: { jobs: 10, perSeconds: 2 } }
`;

/** A pino logger whose lines are kept, to read what the service logged. */
function capturingLogger(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { log, lines };
}

describe('QUOTAS_FILE policy', () => {
  it('parses weights, caps and rate limits; a tenant without an entry gets the default', () => {
    const p = parseQuotaPolicy(GOOD, 'q.yaml');
    expect(policyOf(p, 'acme')).toEqual({
      weight: 3,
      maxActiveJobs: 5,
      maxActiveJobsPerExecutor: { ocr: 3 },
      rateLimits: { ocr: { jobs: 10, perSeconds: 2 } },
    });
    expect(policyOf(p, 'other')).toEqual({
      weight: 1,
      maxActiveJobs: 50,
      maxActiveJobsPerExecutor: {},
      rateLimits: {},
    });
  });

  it.each([
    ['tenants:\n  acme: { weight: -1 }', 'tenants.acme.weight'],
    ['tenants:\n  acme: { maxActiveJobs: 0 }', 'tenants.acme.maxActiveJobs'],
    ['tenants:\n  acme: { maxActiveJobsPerExecutor: { ocr: 1.5 } }', 'tenants.acme.maxActiveJobsPerExecutor.ocr'],
    ['tenants:\n  acme: { rateLimits: { ocr: { jobs: 10 } } }', 'tenants.acme.rateLimits.ocr.perSeconds'],
    ['default: { wieght: 2 }', 'default.wieght'],
  ])('rejects %j naming the file and key %s', (text, key) => {
    let err: unknown;
    try {
      parseQuotaPolicy(text, '/etc/marie/quotas.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QuotaPolicyError);
    expect((err as QuotaPolicyError).key).toBe(key);
    expect((err as Error).message).toContain('/etc/marie/quotas.yaml');
    expect((err as Error).message).toContain(key);
  });

  it('QUOTAS_FILE is read from the environment by config', () => {
    expect(loadConfig({}, { QUOTAS_FILE: '/x/q.yaml' }).quotasFile).toBe('/x/q.yaml');
    expect(loadConfig({}, {}).quotasFile).toBeUndefined();
  });

  it('a change is taken on SIGHUP and on the timer; a bad file keeps the last good policy and logs file and key', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'quotas-')), 'quotas.yaml');
    writeFileSync(file, GOOD);
    const { log, lines } = capturingLogger();
    const svc = new QuotaPolicyService(file, log, 200);
    await svc.start();
    try {
      expect(policyOf(svc.policy, 'acme').maxActiveJobs).toBe(5);
      writeFileSync(file, 'tenants:\n  acme: { maxActiveJobs: 7 }\n');
      process.emit('SIGHUP', 'SIGHUP');
      await waitFor(async () => policyOf(svc.policy, 'acme').maxActiveJobs === 7, 10_000, 'SIGHUP reload');

      writeFileSync(file, 'tenants:\n  acme: { maxActiveJobs: nope }\n');
      await waitFor(async () => lines.some((l) => l.key === 'tenants.acme.maxActiveJobs'), 10_000, 'the error logged');
      const logged = lines.find((l) => l.key === 'tenants.acme.maxActiveJobs')!;
      expect(logged.file).toBe(file);
      expect(String(logged.msg)).toContain(file);
      expect(policyOf(svc.policy, 'acme').maxActiveJobs).toBe(7);

      // The timer alone (no signal) takes the next good file.
      writeFileSync(file, 'tenants:\n  acme: { maxActiveJobs: 9 }\n');
      await waitFor(async () => policyOf(svc.policy, 'acme').maxActiveJobs === 9, 10_000, 'timer reload');
    } finally {
      svc.stop();
    }
  });
});
