import type { DataSource, EntityManager } from 'typeorm';
import { appendEvents, type NewEvent } from '../events/event-log';
import type { NormalizedDag } from './dag-validation';
import type { SlaKind } from '../core/events';
import { SlaMarksRepository, type SlaDue } from '../repositories/sla-marks.repository';

const repo = new SlaMarksRepository();

/**
 * SLA marks. A mark (`sla_soft_missed_at`, `sla_hard_missed_at`) and its SLA event are
 * always written by one statement group in one transaction: the sweep's own transaction
 * for what is still open past its deadline, and the transaction of the transition itself
 * for a job or DAG that ends after its deadline, so the outcome is judged against the
 * deadline, never against when the sweep happens to run.
 */

export type { SlaKind } from '../core/events';

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
    const jobs = await repo.markOpenJobsSoftMissed(m, limit);
    const dags = await repo.markOpenDagsSoftMissed(m, limit);
    const byTenant = new Map<string, NewEvent[]>();
    const add = (tenantId: string, e: NewEvent) =>
      (byTenant.get(tenantId) ?? byTenant.set(tenantId, []).get(tenantId)!).push(e);
    for (const j of jobs) add(j.tenantId, slaEventOf(j.dagId, j.taskId, 'SOFT_MISSED', j.softSla, at));
    for (const d of dags) add(d.tenantId, slaEventOf(d.id, null, 'SOFT_MISSED', d.softSla, at));
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
    const jobs = await repo.markEndedJobs(m, tenantId, endedJobIds);
    for (const j of jobs) {
      if (j.softNew && j.softSla) events.push(slaEventOf(dagId, j.taskId, 'SOFT_MISSED', j.softSla, at));
      if (j.hardNew && j.hardSla) events.push(slaEventOf(dagId, j.taskId, 'HARD_MISSED', j.hardSla, at));
    }
  }
  if (dagEnded && (due.soft_due || due.hard_due)) {
    await repo.markEndedDag(m, tenantId, dagId, due.soft_due, due.hard_due);
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
