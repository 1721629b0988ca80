import { stateClass } from '../lib/format';

export function StateBadge({ state }: { state: string }) {
  return <span className={`badge ${stateClass(state)}`}>{state.toLowerCase()}</span>;
}

const SLA_TEXT: Record<string, string> = {
  SOFT_MISSED: 'soft SLA missed',
  HARD_MISSED: 'hard SLA missed',
  ON_TRACK: 'SLA on track',
  MET: 'SLA met',
};

/** SLA status; NONE (no deadline) shows nothing. */
export function SlaBadge({ status }: { status: string }) {
  const text = SLA_TEXT[status];
  if (!text) return null;
  return <span className={`badge sla-${status.toLowerCase().replace('_', '-')}`}>{text}</span>;
}

export interface ProgressCounts {
  total: number;
  completed: number;
  failed: number;
  active: number;
  skipped: number;
  percent: number;
}

/** A stacked bar: completed, failed, skipped, active over the total. */
export function ProgressBar({ p }: { p: ProgressCounts }) {
  const w = (n: number) => `${p.total ? (n / p.total) * 100 : 0}%`;
  return (
    <div
      className="progress"
      role="progressbar"
      aria-valuenow={Math.round(p.percent)}
      title={`${p.completed} completed, ${p.failed} failed, ${p.skipped} skipped, ${p.active} active of ${p.total}`}
    >
      <span className="seg state-completed" style={{ width: w(p.completed) }} />
      <span className="seg state-failed" style={{ width: w(p.failed) }} />
      <span className="seg state-skipped" style={{ width: w(p.skipped) }} />
      <span className="seg state-active" style={{ width: w(p.active) }} />
      <em>{Math.round(p.percent)}%</em>
    </div>
  );
}
