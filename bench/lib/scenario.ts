import type { BenchEnv, Size } from './env';

export type Verdict = 'met' | 'missed' | 'info' | 'skipped';

/** One line of the results table. */
export interface ResultRow {
  metric: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
  verdict: Verdict;
}

export interface ScenarioResult {
  rows: ResultRow[];
  /** Free text: what was measured, how, what the figures mean, why a target was missed. */
  notes: string[];
}

export interface Scenario {
  name: string;
  /** What ours is. */
  ours: string;
  /** The raw baseline run beside it, and the outside anchor it is compared with. */
  baseline: string;
  anchor: string;
  /** Printed under the scenario when one of its targets is missed: the reason profiling found. */
  whenMissed?: string;
  run(env: BenchEnv): Promise<ScenarioResult>;
}

export const pick = <T>(size: Size, v: { tiny: T; quick: T; full: T }): T => v[size];

export const ratioText = (ours: number, baseline: number, digits = 2): string =>
  Number.isFinite(ours) && Number.isFinite(baseline) && baseline > 0 ? `${(ours / baseline).toFixed(digits)}×` : 'n/a';
