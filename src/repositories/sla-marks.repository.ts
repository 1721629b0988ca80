import { rows as sqlRows, type SqlRunner } from '../db/sql';

/**
 * What the DAG row says of its SLAs after a transition's counters were applied (taken in
 * the same UPDATE, so it costs no statement): whether the DAG is past an unmarked
 * deadline, and whether a job that ended here is.
 */
export interface SlaDue {
  soft_sla: Date | null;
  hard_sla: Date | null;
  soft_due: boolean;
  hard_due: boolean;
  jobs_due: boolean;
}

/** The RETURNING columns of SlaDue; `$ended` is the uuid[] parameter of the jobs that ended. */
export const slaDueColumns = (ended: string): string =>
  `d.soft_sla, d.hard_sla,
   (d.soft_sla < now() AND d.sla_soft_missed_at IS NULL) AS soft_due,
   (d.hard_sla < now() AND d.sla_hard_missed_at IS NULL) AS hard_due,
   EXISTS (SELECT 1 FROM jobs sj WHERE sj.id = ANY(${ended}::uuid[])
             AND ((sj.soft_sla < now() AND sj.sla_soft_missed_at IS NULL)
               OR (sj.hard_sla < now() AND sj.sla_hard_missed_at IS NULL))) AS jobs_due`;

/** A job whose SLA mark was set here. */
export interface MarkedJob {
  taskId: string;
  softSla: Date | null;
  hardSla: Date | null;
  softNew: boolean;
  hardNew: boolean;
}

/** SQL on the SLA columns of `jobs` and `dags`: the marks (`sla_soft_missed_at`, `sla_hard_missed_at`). */
export class SlaMarksRepository {
  /** Open jobs past an unmarked soft SLA, marked (SKIP LOCKED). */
  async markOpenJobsSoftMissed(
    m: SqlRunner,
    limit: number,
  ): Promise<Array<{ tenantId: string; dagId: string; taskId: string; softSla: Date }>> {
    const jobs: Array<{ tenant_id: string; dag_id: string; task_id: string; soft_sla: Date }> = await sqlRows(
      m,
      `UPDATE jobs SET sla_soft_missed_at = now() WHERE id IN (
         SELECT id FROM jobs WHERE soft_sla < now() AND sla_soft_missed_at IS NULL AND state IN ('CREATED','RETRY','ACTIVE')
          LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING tenant_id, dag_id, task_id, soft_sla`,
      [limit],
    );
    return jobs.map((j) => ({ tenantId: j.tenant_id, dagId: j.dag_id, taskId: j.task_id, softSla: j.soft_sla }));
  }

  /** Open DAGs past an unmarked soft SLA, marked (SKIP LOCKED). */
  async markOpenDagsSoftMissed(
    m: SqlRunner,
    limit: number,
  ): Promise<Array<{ tenantId: string; id: string; softSla: Date }>> {
    const dags: Array<{ tenant_id: string; id: string; soft_sla: Date }> = await sqlRows(
      m,
      `UPDATE dags SET sla_soft_missed_at = now() WHERE (tenant_id, id) IN (
         SELECT tenant_id, id FROM dags WHERE soft_sla < now() AND sla_soft_missed_at IS NULL AND state IN ('CREATED','ACTIVE')
          LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING tenant_id, id, soft_sla`,
      [limit],
    );
    return dags.map((d) => ({ tenantId: d.tenant_id, id: d.id, softSla: d.soft_sla }));
  }

  /** Jobs that ended past an unmarked deadline, marked (those marked here are returned). */
  async markEndedJobs(m: SqlRunner, tenantId: string, jobIds: string[]): Promise<MarkedJob[]> {
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
      [jobIds, tenantId],
    );
    return jobs.map((j) => ({
      taskId: j.task_id,
      softSla: j.soft_sla,
      hardSla: j.hard_sla,
      softNew: j.soft_new,
      hardNew: j.hard_new,
    }));
  }

  /** Mark a DAG that ended past its deadlines. */
  async markEndedDag(m: SqlRunner, tenantId: string, dagId: string, soft: boolean, hard: boolean): Promise<void> {
    await m.query(
      `UPDATE dags SET sla_soft_missed_at = CASE WHEN $3 THEN now() ELSE sla_soft_missed_at END,
                       sla_hard_missed_at = CASE WHEN $4 THEN now() ELSE sla_hard_missed_at END
        WHERE tenant_id = $1 AND id = $2`,
      [tenantId, dagId, soft, hard],
    );
  }
}
