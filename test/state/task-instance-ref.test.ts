import { describe, expect, it } from 'vitest';
import { DomainError } from '../../src/errors/domain-error';
import { encodeStateWrite, findNonJson } from '../../src/state/state-value';
import { TaskInstanceRef } from '../../src/state/task-instance-ref';

const fields = {
  tenantId: 'acme_corp',
  dagName: 'document pipeline',
  dagId: 'run_2024_001',
  taskId: 'ocr',
  tryNumber: 1,
};

describe('TaskInstanceRef', () => {
  it('is immutable', () => {
    const ti = new TaskInstanceRef(fields);
    expect(Object.isFrozen(ti)).toBe(true);
    expect(() => {
      (ti as { tryNumber: number }).tryNumber = 2;
    }).toThrow(TypeError);
    expect(ti.tryNumber).toBe(1);
  });

  it('builds from a job, from the seed’s snake_case dict and from camelCase fields', () => {
    const job = { ...fields, jobId: 'ignored', priority: 3 };
    expect(TaskInstanceRef.fromJob(job).toJSON()).toEqual(fields);
    const dict = {
      tenant_id: 'acme_corp',
      dag_name: 'document pipeline',
      dag_id: 'run_2024_001',
      task_id: 'ocr',
      try_number: 1,
    };
    expect(TaskInstanceRef.fromDict(dict).toJSON()).toEqual(fields);
    expect(TaskInstanceRef.fromDict(fields).toDict()).toEqual(dict);
    expect(TaskInstanceRef.fromDict(dict).equals(fields)).toBe(true);
  });

  it('makes a copy at another try, or for another task, leaving the original alone', () => {
    const ti = new TaskInstanceRef(fields);
    const next = ti.withTryNumber(2);
    expect(next).not.toBe(ti);
    expect(next.toJSON()).toEqual({ ...fields, tryNumber: 2 });
    expect(ti.tryNumber).toBe(1);
    expect(ti.forTask('classify').toJSON()).toEqual({ ...fields, taskId: 'classify' });
    expect(() => ti.withTryNumber(-1)).toThrow(DomainError);
  });

  it('refuses fields that are missing or could escape a storage path', () => {
    const bad: Array<[Partial<typeof fields>, string]> = [
      [{ tenantId: '' }, 'tenantId'],
      [{ tenantId: 'a/b' }, 'tenantId'],
      [{ dagName: 'a/b' }, 'dagName'],
      [{ dagName: '..' }, 'dagName'],
      [{ dagName: 'tab\there' }, 'dagName'],
      [{ dagId: 'x'.repeat(129) }, 'dagId'],
      [{ dagId: 'has space' }, 'dagId'],
      [{ taskId: '.' }, 'taskId'],
      [{ taskId: undefined }, 'taskId'],
      [{ tryNumber: 1.5 }, 'tryNumber'],
      [{ tryNumber: -1 }, 'tryNumber'],
      [{ tryNumber: '1' as unknown as number }, 'tryNumber'],
    ];
    for (const [change, field] of bad) {
      let caught: unknown;
      try {
        new TaskInstanceRef({ ...fields, ...change });
      } catch (err) {
        caught = err;
      }
      expect(caught, field).toBeInstanceOf(DomainError);
      expect((caught as DomainError).details.field, field).toBe(field);
    }
    expect(() => TaskInstanceRef.fromDict({ tenant_id: 'a' })).toThrow(DomainError);
  });
});

describe('state value rules', () => {
  it('finds what is not plain JSON, with its path', () => {
    expect(findNonJson({ a: [1, { b: 'ok' }], c: null })).toBeNull();
    expect(findNonJson({ a: [1, { b: undefined }] })).toMatch(/^\$\.a\[1\]\.b is undefined/);
    expect(findNonJson([Number.NaN])).toMatch(/^\$\[0\] is NaN/);
    expect(findNonJson(Object.create(null) as object)).toBeNull();
  });

  it('serialises what it accepts exactly as JSON.stringify does, metadata defaulting to {}', () => {
    const value = { b: [1, 'x'], a: { c: null } };
    expect(encodeStateWrite('K', value, undefined)).toEqual({
      key: 'K',
      valueJson: JSON.stringify(value),
      metadataJson: '{}',
    });
    expect(encodeStateWrite('K', 'v', { m: 1 }, { fieldPrefix: 'input.' }).metadataJson).toBe('{"m":1}');
  });
});
