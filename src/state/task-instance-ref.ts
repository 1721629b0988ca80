import { badInput } from '../errors/domain-error';

/** DAG ids and task ids, as DESIGN.md defines them; tenant ids (uuids) fit too. */
const ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
/** DAG names are free text, but they are a segment of an S3 object key: no slash, no control character. */
const NAME_PATTERN = /^[^/\u0000-\u001f\u007f]{1,255}$/;
const MAX_TRY = 2_147_483_647;

export interface TaskInstanceFields {
  tenantId: string;
  dagName: string;
  dagId: string;
  taskId: string;
  tryNumber: number;
}

/** The seed's dict form (`to_dict`), snake_case. */
export interface TaskInstanceDict {
  tenant_id: string;
  dag_name: string;
  dag_id: string;
  task_id: string;
  try_number: number;
}

function checkSegment(field: string, value: unknown, pattern: RegExp, what: string): string {
  if (typeof value !== 'string' || !pattern.test(value) || value === '.' || value === '..') {
    throw badInput(field, `${JSON.stringify(value)} is not a valid ${what}`);
  }
  return value;
}

function checkTry(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TRY) {
    throw badInput('tryNumber', `${JSON.stringify(value)} is not a valid try number (an integer from 0)`);
  }
  return value;
}

/**
 * One attempt of one task of one DAG run of one tenant: the address of its state.
 * Immutable (frozen); every field is checked when it is built.
 */
export class TaskInstanceRef implements TaskInstanceFields {
  readonly tenantId: string;
  readonly dagName: string;
  readonly dagId: string;
  readonly taskId: string;
  readonly tryNumber: number;

  constructor(fields: TaskInstanceFields) {
    this.tenantId = checkSegment('tenantId', fields.tenantId, ID_PATTERN, 'tenant id');
    this.dagName = checkSegment('dagName', fields.dagName, NAME_PATTERN, 'DAG name');
    this.dagId = checkSegment('dagId', fields.dagId, ID_PATTERN, 'DAG id');
    this.taskId = checkSegment('taskId', fields.taskId, ID_PATTERN, 'task id');
    this.tryNumber = checkTry(fields.tryNumber);
    Object.freeze(this);
  }

  /** From the seed's snake_case dict, or the camelCase fields. */
  static fromDict(d: Partial<TaskInstanceDict> | Partial<TaskInstanceFields>): TaskInstanceRef {
    const s = d as Partial<TaskInstanceDict>;
    const c = d as Partial<TaskInstanceFields>;
    return new TaskInstanceRef({
      tenantId: (c.tenantId ?? s.tenant_id) as string,
      dagName: (c.dagName ?? s.dag_name) as string,
      dagId: (c.dagId ?? s.dag_id) as string,
      taskId: (c.taskId ?? s.task_id) as string,
      tryNumber: (c.tryNumber ?? s.try_number) as number,
    });
  }

  /** The seed's `from_work_info`: the attempt a job (its tenant, DAG, task id and try) is running. */
  static fromJob(job: TaskInstanceFields): TaskInstanceRef {
    return new TaskInstanceRef({
      tenantId: job.tenantId,
      dagName: job.dagName,
      dagId: job.dagId,
      taskId: job.taskId,
      tryNumber: job.tryNumber,
    });
  }

  /** The same task at another try. */
  withTryNumber(tryNumber: number): TaskInstanceRef {
    return new TaskInstanceRef({ ...this.toJSON(), tryNumber });
  }

  /** Another task of the same DAG run (same tenant), at `tryNumber`. */
  forTask(taskId: string, tryNumber = this.tryNumber): TaskInstanceRef {
    return new TaskInstanceRef({ ...this.toJSON(), taskId, tryNumber });
  }

  toDict(): TaskInstanceDict {
    return {
      tenant_id: this.tenantId,
      dag_name: this.dagName,
      dag_id: this.dagId,
      task_id: this.taskId,
      try_number: this.tryNumber,
    };
  }

  toJSON(): TaskInstanceFields {
    return {
      tenantId: this.tenantId,
      dagName: this.dagName,
      dagId: this.dagId,
      taskId: this.taskId,
      tryNumber: this.tryNumber,
    };
  }

  equals(other: TaskInstanceFields): boolean {
    return (
      this.tenantId === other.tenantId &&
      this.dagName === other.dagName &&
      this.dagId === other.dagId &&
      this.taskId === other.taskId &&
      this.tryNumber === other.tryNumber
    );
  }

  toString(): string {
    return `${this.tenantId}/${this.dagName}/${this.dagId}/${this.taskId}/${this.tryNumber}`;
  }
}

/** Checks the address of a task (all tries) the same way a TaskInstanceRef does. */
export function checkTaskAddress(tenantId: string, dagName: string, dagId: string, taskId: string): void {
  new TaskInstanceRef({ tenantId, dagName, dagId, taskId, tryNumber: 0 });
}
