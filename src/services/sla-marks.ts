import type { DataSource, EntityManager } from 'typeorm';
import { rows as sqlRows } from '../db/sql';
import { appendEvents, type NewEvent } from '../events/event-log';
import type { NormalizedDag } from './dag-validation';
import type { SlaDue } from '../repositories/dags.repository';

/**
 * SLA marks. A mark (`sla_soft_missed_at`, `sla_hard_missed_at`) and its SLA event are
 * always written by one statement group in one transaction: the sweep's own transaction
 * for what is still open past its deadline, and the transaction of the transition itself
 * for a job or DAG that ends after its deadline, so the outcome is judged against the
 * deadline, never against when the sweep happens to run.
 */

export type SlaKind = 'SOFT_MISSED' | 'HARD_MISSED';

export function slaEventOf(
  dagId: string,
  taskId: string | null,
  kind: SlaKind,
  deadline: Date | string,
  at: string,
): NewEvent {
  return { type: 'SLA', dagId, payload: { dagId, taskId, kind, deadline: new Date(deadline).toISOString(), at } };
}

/**
 * Soft misses of what is still open: marked and their events appended in one transaction
 * (a crash between them cannot keep the mark and lose the event).
 */
export async function sweepSoftMisses(ds: DataSource, limit = 1000): Promise<number> {
  return ds.transaction(async (m) => {
    const at = new Date().toISOString();
    const jobs: Array<{ tenant_id: string; dag_id: string; task_id: string; soft_sla: Date }> = await sqlRows(
      m,
      `UPDATE jobs SET sla_soft_missed_at = now() WHERE id IN (
         SELECT id FROM jobs WHERE soft_sla < now() AND sla_soft_missed_at IS NULL AND state IN ('CREATED','RETRY','ACTIVE')
          LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING tenant_id, dag_id, task_id, soft_sla`,
      [limit],
    );
    const dags: Array<{ tenant_id: string; id: string; soft_sla: Date }> = await sqlRows(
      m,
      `UPDATE dags SET sla_soft_missed_at = now() WHERE (tenant_id, id) IN (
         SELECT tenant_id, id FROM dags WHERE soft_sla < now() AND sla_soft_missed_at IS NULL AND state IN ('CREATED','ACTIVE')
          LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING tenant_id, id, soft_sla`,
      [limit],
    );
    const byTenant = new Map<string, NewEvent[]>();
    const add = (tenantId: string, e: NewEvent) =>
      (byTenant.get(tenantId) ?? byTenant.set(tenantId, []).get(tenantId)!).push(e);
    for (const j of jobs) add(j.tenant_id, slaEventOf(j.dag_id, j.task_id, 'SOFT_MISSED', j.soft_sla, at));
    for (const d of dags) add(d.tenant_id, slaEventOf(d.id, null, 'SOFT_MISSED', d.soft_sla, at));
    for (const [tenantId, events] of byTenant) await appendEvents(m, tenantId, events);
    return jobs.length + dags.length;
  });
}

/**
 * Inside a transition's transaction: jobs that ended here past an unmarked deadline, and
 * the DAG when it ended here past one, are marked; their events are returned, to be
 * appended with the transition's own. Nothing is cancelled: they already ended.
 */
export async function marksAtEnd(
  m: EntityManager,
  tenantId: string,
  dagId: string,
  due: SlaDue,
  endedJobIds: string[],
  dagEnded: boolean,
): Promise<NewEvent[]> {
  const at = new Date().toISOString();
  const events: NewEvent[] = [];
  if (due.jobs_due && endedJobIds.length) {
    const jobs: Array<{
      task_id: string;
      soft_sla: Date | null;
      hard_sla: Date | null;
      soft_new: boolean;
      hard_new: boolean;
    }> = await sqlRows(
      m,
      `WITH due AS (
         SELECT id, (soft_sla < now() AND sla_soft_missed_at IS NULL) AS soft_new,
                (hard_sla < now() AND sla_hard_missed_at IS NULL) AS hard_new
           FROM jobs WHERE id = ANY($1::uuid[]) AND tenant_id = $2 FOR UPDATE)
       UPDATE jobs j SET sla_soft_missed_at = CASE WHEN due.soft_new THEN now() ELSE j.sla_soft_missed_at END,
                         sla_hard_missed_at = CASE WHEN due.hard_new THEN now() ELSE j.sla_hard_missed_at END
         FROM due WHERE j.id = due.id AND (due.soft_new OR due.hard_new)
       RETURNING j.task_id, j.soft_sla, j.hard_sla, due.soft_new, due.hard_new`,
      [endedJobIds, tenantId],
    );
    for (const j of jobs) {
      if (j.soft_new && j.soft_sla) events.push(slaEventOf(dagId, j.task_id, 'SOFT_MISSED', j.soft_sla, at));
      if (j.hard_new && j.hard_sla) events.push(slaEventOf(dagId, j.task_id, 'HARD_MISSED', j.hard_sla, at));
    }
  }
  if (dagEnded && (due.soft_due || due.hard_due)) {
    await m.query(
      `UPDATE dags SET sla_soft_missed_at = CASE WHEN $3 THEN now() ELSE sla_soft_missed_at END,
                       sla_hard_missed_at = CASE WHEN $4 THEN now() ELSE sla_hard_missed_at END
        WHERE tenant_id = $1 AND id = $2`,
      [tenantId, dagId, due.soft_due, due.hard_due],
    );
    if (due.soft_due && due.soft_sla) events.push(slaEventOf(dagId, null, 'SOFT_MISSED', due.soft_sla, at));
    if (due.hard_due && due.hard_sla) events.push(slaEventOf(dagId, null, 'HARD_MISSED', due.hard_sla, at));
  }
  return events;
}

/**
 * The first deadline of a submitted DAG that is already past (DAG first, then its jobs in
 * order), as the input field that holds it; null when every deadline is ahead. Such a
 * submission is refused (BAD_USER_INPUT): it could only ever be missed.
 */
export function pastDeadlineField(dag: NormalizedDag, now = Date.now()): string | null {
  const past = (d: Date | null) => d !== null && d.getTime() <= now;
  if (past(dag.softSla)) return 'input.softSla';
  if (past(dag.hardSla)) return 'input.hardSla';
  for (const [i, j] of dag.jobs.entries()) {
    if (past(j.softSla)) return `input.jobs[${i}].softSla`;
    if (past(j.hardSla)) return `input.jobs[${i}].hardSla`;
  }
  return null;
}
