import { FleetDoc } from '../graphql/documents';
import { ago } from '../lib/format';
import { useQuery } from '../lib/use-query';

/** Workers and queues, read again every 2 s. */
export function Fleet() {
  const q = useQuery(FleetDoc, {}, { pollMs: 2000 });
  if (q.error && !q.data) return <p className="error">{q.error}</p>;
  if (!q.data) return <p className="loading">Loading…</p>;
  const { workers, queues } = q.data;
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
              <td>{s.workers}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
