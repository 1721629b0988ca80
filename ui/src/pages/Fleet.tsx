import { FleetDoc } from '../graphql/documents';
import type { FleetQuery } from '../graphql/generated/graphql';
import { ago } from '../lib/format';
import { useQuery } from '../lib/use-query';

const CAUSES: Record<string, string> = {
  MAX_ACTIVE: 'tenant cap',
  EXECUTOR_CAP: 'executor cap',
  CONCURRENCY_KEY: 'concurrency key',
  RATE_LIMIT: 'rate limit',
};

/** Your tenant's fair-share policy, its jobs in flight and the ready jobs each limit holds back. */
function Quota({ quota }: { quota: FleetQuery['quota'] }) {
  const caps = Object.entries((quota.maxActiveJobsPerExecutor ?? {}) as Record<string, number>);
  const held = quota.throttled.reduce((n, t) => n + t.jobs, 0);
  return (
    <>
      <h2>Your quota</h2>
      <dl className="quota" data-testid="quota">
        <dt>Weight</dt>
        <dd>{quota.weight}</dd>
        <dt>In flight</dt>
        <dd data-testid="quota-active">
          {quota.activeJobs}
          {quota.maxActiveJobs === null ? '' : ` / ${quota.maxActiveJobs}`}
        </dd>
        <dt>Per executor</dt>
        <dd>{caps.length === 0 ? 'no caps' : caps.map(([e, n]) => `${e}: ${n}`).join(', ')}</dd>
        <dt>Rate limits</dt>
        <dd>
          {quota.rateLimits.length === 0
            ? 'none'
            : quota.rateLimits.map((r) => `${r.executor}: ${r.jobs} per ${r.perSeconds} s`).join(', ')}
        </dd>
        <dt>Held back</dt>
        <dd data-testid="quota-held">{held}</dd>
      </dl>
      {quota.throttled.length > 0 && (
        <table data-testid="throttled">
          <thead>
            <tr>
              <th>Held back by</th>
              <th>Executor</th>
              <th>Key</th>
              <th>Jobs</th>
            </tr>
          </thead>
          <tbody>
            {quota.throttled.map((t) => (
              <tr key={`${t.cause}/${t.executor ?? ''}/${t.concurrencyKey ?? ''}`}>
                <td>{CAUSES[t.cause] ?? t.cause}</td>
                <td>{t.executor ?? '—'}</td>
                <td>{t.concurrencyKey ?? '—'}</td>
                <td>{t.jobs}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Workers, queues and your quota, read again every 2 s. */
export function Fleet() {
  const q = useQuery(FleetDoc, {}, { pollMs: 2000 });
  if (q.error && !q.data) return <p className="error">{q.error}</p>;
  if (!q.data) return <p className="loading">Loading…</p>;
  const { workers, queues, quota } = q.data;
  return (
    <section>
      <h1>Fleet</h1>
      <h2>Workers ({workers.length})</h2>
      <table data-testid="workers">
        <thead>
          <tr>
            <th>Worker</th>
            <th>Executors</th>
            <th>GPUs</th>
            <th>Health</th>
            <th>Load</th>
            <th>Last seen</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((w) => (
            <tr key={w.id}>
              <td>
                {w.hostname}
                <div className="sub">{w.id}</div>
              </td>
              <td>{w.executors.join(', ')}</td>
              <td>
                {w.gpus.length === 0
                  ? '—'
                  : w.gpus.map((g) => (
                      <div key={g.index}>
                        #{g.index} {g.name}: {g.memoryUsedMiB ?? '?'} / {g.memoryTotalMiB} MiB,{' '}
                        {g.utilizationPercent ?? '?'}%
                      </div>
                    ))}
              </td>
              <td>
                <span className={`badge ${w.healthy ? 'state-completed' : 'state-failed'}`}>
                  {w.healthy ? 'healthy' : 'unhealthy'}
                </span>
              </td>
              <td>
                {w.activeJobs} / {w.concurrency}
              </td>
              <td>{ago(w.lastSeenAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Queues</h2>
      <table data-testid="queues">
        <thead>
          <tr>
            <th>Executor</th>
            <th>Waiting</th>
            <th>Active</th>
            <th>Delayed</th>
            <th>Failed</th>
            <th>Completed</th>
            <th title="Ready but held back by a quota, a concurrency key or a rate limit">Throttled</th>
            <th>Workers</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((s) => (
            <tr key={s.executor} className={s.workers === 0 ? 'unhosted' : undefined}>
              <td>{s.executor}</td>
              <td>{s.waiting}</td>
              <td>{s.active}</td>
              <td>{s.delayed}</td>
              <td>{s.failed}</td>
              <td>{s.completed}</td>
              <td>{s.throttled}</td>
              <td>{s.workers}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Quota quota={quota} />
    </section>
  );
}
