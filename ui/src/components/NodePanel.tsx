import { useEffect, useRef, useState } from 'react';
import { CancelJobDoc, JobPanelDoc, RetryJobDoc } from '../graphql/documents';
import { ago, duration, shortVersion, when } from '../lib/format';
import { assetPath, Link } from '../lib/router';
import { useCan, useSession } from '../lib/session-context';
import { useQuery } from '../lib/use-query';
import { StateBadge } from './Badges';
import { JsonView } from './JsonView';

const RETRYABLE = ['FAILED', 'EXPIRED', 'CANCELLED'];
const CANCELLABLE = ['CREATED', 'ACTIVE', 'RETRY'];

/**
 * One job: attempts, last progress message, output, task state, materializations (linking
 * to their assets), asset status, and the actions the key's role allows. `version` changes
 * when the job's live state does, so the panel reads it again.
 */
export function NodePanel(props: { dagId: string; taskId: string; version: string; dagCancelled: boolean }) {
  const { api } = useSession();
  const canCancel = useCan('dag.cancel');
  const canRetry = useCan('dag.retry');
  const q = useQuery(JobPanelDoc, { dagId: props.dagId, taskId: props.taskId });
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const { reload } = q;
  // Read again when the job's live state moves on (not at mount: the query just ran).
  const shown = useRef(props.version);
  useEffect(() => {
    if (shown.current === props.version) return;
    shown.current = props.version;
    reload();
  }, [props.version, reload]);

  const act = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setActionError(null);
    try {
      await fn();
      reload();
    } catch (err) {
      setActionError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const job = q.data?.job;
  if (!job) return <aside className="panel">{q.error ?? (q.loading ? 'Loading…' : 'No such job')}</aside>;
  const vars = { dagId: props.dagId, taskId: job.taskId };
  return (
    <aside className="panel" data-testid="node-panel" data-task={job.taskId}>
      <h2>
        {job.taskId} <StateBadge state={job.state} />
      </h2>
      <p className="sub">
        {job.name} on {job.executor} · level {job.jobLevel} · try {job.tryNumber} of {job.retryLimit + 1}
      </p>
      <div className="actions">
        {canCancel && CANCELLABLE.includes(job.state) && (
          <button type="button" disabled={busy} onClick={() => void act(() => api.request(CancelJobDoc, vars))}>
            Cancel job
          </button>
        )}
        {canRetry && !props.dagCancelled && RETRYABLE.includes(job.state) && (
          <button type="button" disabled={busy} onClick={() => void act(() => api.request(RetryJobDoc, vars))}>
            Retry
          </button>
        )}
        {actionError && <span className="error">{actionError}</span>}
      </div>
      {job.error && (
        <pre className="error" data-testid="job-error">
          {job.error}
        </pre>
      )}
      {job.progressMessage && (
        <p>
          Progress: {job.progressPercent != null ? `${Math.round(job.progressPercent)}% · ` : ''}
          {job.progressMessage}
        </p>
      )}
      <h3>Attempts</h3>
      <table data-testid="attempts">
        <thead>
          <tr>
            <th>Try</th>
            <th>Outcome</th>
            <th>Worker</th>
            <th>Started</th>
            <th>Took</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {job.attempts.map((a, i) => (
            <tr key={i}>
              <td>{a.tryNumber}</td>
              <td>{a.outcome.toLowerCase()}</td>
              <td>{a.workerId ?? '—'}</td>
              <td title={when(a.startedAt)}>{ago(a.startedAt)}</td>
              <td>{duration(a.startedAt, a.finishedAt)}</td>
              <td className="error">{a.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Output</h3>
      {job.output === null || job.output === undefined ? <p className="sub">none</p> : <JsonView value={job.output} />}
      <h3>Task state</h3>
      {job.taskState.length === 0 && <p className="sub">none</p>}
      <ul className="plain">
        {job.taskState.map((t) => (
          <li key={t.key}>
            <b>{t.key}</b> (try {t.tryNumber}): <JsonView value={t.value} />
          </li>
        ))}
      </ul>
      <h3>Materializations</h3>
      {job.materializations.length === 0 && <p className="sub">none</p>}
      <ul className="plain">
        {job.materializations.map((m) => (
          <li key={m.id}>
            <Link to={assetPath(m.assetKey)}>{m.assetKey}</Link>{' '}
            <code title={m.version}>{shortVersion(m.version)}</code>
            {m.partitionKey && <span className="sub"> [{m.partitionKey}]</span>}
            {m.isStale && <span className="badge stale">stale</span>}
          </li>
        ))}
      </ul>
      <h3>Assets</h3>
      <p>
        {Math.round(job.assetStatus.completionPercentage)}% of required assets
        {job.assetStatus.isComplete ? ' — complete' : ''}
      </p>
      <ul className="plain">
        {job.assetStatus.expectedAssets.map((k) => {
          const missing = job.assetStatus.missingRequiredAssets.includes(k);
          const done = job.assetStatus.materializedAssets.includes(k);
          return (
            <li key={k} className={missing ? 'missing' : undefined}>
              <Link to={assetPath(k)}>{k}</Link> {done ? '✓' : missing ? '✗ missing (required)' : '(optional)'}
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
