import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { CliError, describeError, gql, wsUrl, type Server } from './client';
import { bar, percentText } from './output';

export interface WatchedJob {
  taskId: string;
  state: string;
  tryNumber: number;
  progressPercent: number | null;
  progressMessage?: string | null;
}

export interface WatchedDag {
  id: string;
  name: string;
  state: string;
  progress: { total: number; completed: number; failed: number; percent: number };
  jobs: WatchedJob[];
}

export const TERMINAL_DAG_STATES = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** The exit code of a watch by the DAG's final state: 0 COMPLETED, 1 FAILED, 2 CANCELLED. */
export const exitCodeOf = (state: string): number => ({ COMPLETED: 0, FAILED: 1, CANCELLED: 2 })[state] ?? 1;

const DAG_FIELDS = `id name state progress { total completed failed percent }
  jobs { taskId state tryNumber progressPercent progressMessage }`;
/** The state and the cursor in one request: subscribing after the cursor misses nothing. */
const SNAPSHOT = `query ($id: ID!) { eventCursor dag(id: $id) { ${DAG_FIELDS} } }`;
const DAG_SUB = `subscription ($id: ID, $after: String) {
  dagStatusChanged(dagId: $id, after: $after) { cursor state progress { total completed failed percent } } }`;
const JOB_SUB = `subscription ($id: ID!, $after: String) {
  jobStatusChanged(dagId: $id, after: $after) { cursor taskId state tryNumber progressPercent } }`;

interface DagEvent {
  cursor: string;
  state: string;
  progress: WatchedDag['progress'];
}
interface JobEvent extends WatchedJob {
  cursor: string;
}

export interface WatchOptions {
  /** One JSON object a line per event (for scripts) instead of text. */
  json?: boolean;
  out?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Redraw one line per job with a progress bar (a terminal); else a line per change. */
  tty?: boolean;
  /** Told of each reconnection (stderr by default). */
  onReconnect?: (attempt: number, why: string) => void;
}

/** Socket closes that no reconnection can fix (bad request, forbidden key). */
const FATAL_CLOSE = new Set([4400, 4401, 4403, 4406, 4429]);

/**
 * Draws what the watch knows: a line per change, or a redrawn block on a terminal. In lines
 * mode a line that repeats what was last shown of that job (or of the DAG) is not written:
 * the events replayed after the snapshot's cursor may be ones the snapshot already shows.
 * JSON mode writes every event (its cursors are the log's).
 */
export class Renderer {
  private drawn = 0;
  /** What was last shown of each job (state and try). */
  private readonly shown = new Map<string, string>();
  /** Lines mode: the last line written for each job, and for the DAG. */
  private readonly lastLine = new Map<string, string>();
  private lastDagLine = '';
  constructor(
    private readonly dag: WatchedDag,
    private readonly out: NodeJS.WritableStream,
    private readonly mode: 'json' | 'tty' | 'lines',
  ) {}

  jobLine(j: WatchedJob): string {
    const width = Math.max(...this.dag.jobs.map((x) => x.taskId.length), 4);
    const p = j.progressPercent;
    const progress =
      this.mode === 'tty' ? `${bar(p ?? (j.state === 'COMPLETED' ? 100 : 0))} ${percentText(p)}` : percentText(p);
    return `${j.taskId.padEnd(width)}  ${j.state.padEnd(9)}  try ${j.tryNumber}  ${progress}`.trimEnd();
  }

  dagLine(): string {
    const d = this.dag;
    const pct = d.progress.percent;
    const head = `dag ${d.id} ${d.state}`;
    const counts = `${d.progress.completed}/${d.progress.total} completed${d.progress.failed ? `, ${d.progress.failed} failed` : ''}`;
    return this.mode === 'tty'
      ? `${head}  ${bar(pct)} ${percentText(pct)}  ${counts}`
      : `${head} ${percentText(pct)} ${counts}`;
  }

  /** Everything, at the start (and, on a terminal, at every change); `cursor`: the state is as of it. */
  all(cursor?: string): void {
    for (const j of this.dag.jobs) this.shown.set(j.taskId, `${j.state}/${j.tryNumber}`);
    if (this.mode === 'json') {
      const d = this.dag;
      this.out.write(`${JSON.stringify({ type: 'dag', dagId: d.id, state: d.state, progress: d.progress, cursor })}\n`);
      for (const j of this.dag.jobs) this.out.write(`${JSON.stringify({ type: 'job', dagId: this.dag.id, ...j })}\n`);
      return;
    }
    const lines = [...this.dag.jobs.map((j) => this.jobLine(j)), this.dagLine()];
    for (const j of this.dag.jobs) this.lastLine.set(j.taskId, this.jobLine(j));
    this.lastDagLine = this.dagLine();
    if (this.mode === 'tty' && this.drawn > 0) this.out.write(`\x1b[${this.drawn}F`);
    for (const l of lines) this.out.write(this.mode === 'tty' ? `\x1b[2K${l}\n` : `${l}\n`);
    this.drawn = lines.length;
  }

  job(j: WatchedJob & { cursor?: string }): void {
    this.shown.set(j.taskId, `${j.state}/${j.tryNumber}`);
    if (this.mode === 'tty') return this.all();
    if (this.mode === 'json')
      return void this.out.write(`${JSON.stringify({ type: 'job', dagId: this.dag.id, ...j })}\n`);
    const line = this.jobLine(j);
    if (this.lastLine.get(j.taskId) === line) return;
    this.lastLine.set(j.taskId, line);
    this.out.write(`${line}\n`);
  }

  /** Jobs whose last change the streams had not shown yet (they may trail the DAG's stream). */
  catchUp(): void {
    for (const j of this.dag.jobs) if (this.shown.get(j.taskId) !== `${j.state}/${j.tryNumber}`) this.job(j);
  }

  dagChanged(cursor?: string): void {
    if (this.mode === 'tty') return this.all();
    if (this.mode === 'json')
      this.out.write(
        `${JSON.stringify({ type: 'dag', dagId: this.dag.id, state: this.dag.state, progress: this.dag.progress, cursor })}\n`,
      );
    else if (this.dagLine() !== this.lastDagLine) {
      this.lastDagLine = this.dagLine();
      this.out.write(`${this.lastDagLine}\n`);
    }
  }
}

async function snapshot(server: Server, dagId: string): Promise<{ cursor: string; dag: WatchedDag }> {
  const data = await gql<{ eventCursor: string; dag: WatchedDag | null }>(server, SNAPSHOT, { id: dagId });
  if (!data.dag) throw new CliError(`NOT_FOUND: DAG ${dagId} not found`);
  return { cursor: data.eventCursor, dag: data.dag };
}

/**
 * Watch a DAG until it ends and return its final state. Reads the state and the event
 * cursor in one request, then subscribes to its DAG and job events after that cursor;
 * after a dropped socket (a restart, a slow-consumer close) it resubscribes after the
 * last cursor of each stream, so nothing is missed or shown twice.
 */
export async function watchDag(server: Server, dagId: string, opts: WatchOptions = {}): Promise<WatchedDag> {
  const out = opts.out ?? process.stdout;
  const mode = opts.json ? 'json' : opts.tty ? 'tty' : 'lines';
  const first = await snapshot(server, dagId);
  const dag = first.dag;
  const render = new Renderer(dag, out, mode);
  render.all(first.cursor);
  if (TERMINAL_DAG_STATES.includes(dag.state)) return dag;

  let dagAfter = first.cursor;
  let jobAfter = first.cursor;
  const onReconnect =
    opts.onReconnect ?? ((n: number, why: string) => process.stderr.write(`marie: reconnecting (${n}): ${why}\n`));
  for (let attempt = 0; ; attempt++) {
    const client: Client = createClient({
      url: wsUrl(server.url),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${server.key}` },
      retryAttempts: 0,
      lazy: true,
    });
    const ended = await new Promise<{ done: true } | { done: false; why: string }>((resolve, reject) => {
      const fail = (err: unknown) => {
        if (Array.isArray(err)) return reject(new CliError(describeError(err[0] as { message: string })));
        const code = (err as { code?: number }).code;
        if (typeof code === 'number' && FATAL_CLOSE.has(code)) {
          const reason = (err as { reason?: string }).reason;
          return reject(
            new CliError(`${wsUrl(server.url)} closed the subscription (${code}${reason ? ` ${reason}` : ''})`),
          );
        }
        const why =
          typeof code === 'number' ? `socket closed (${code})` : err instanceof Error ? err.message : 'socket error';
        resolve({ done: false, why });
      };
      client.subscribe<{ dagStatusChanged: DagEvent }>(
        { query: DAG_SUB, variables: { id: dagId, after: dagAfter } },
        {
          next: ({ data, errors }) => {
            if (errors?.length) return reject(new CliError(describeError(errors[0])));
            const e = data?.dagStatusChanged;
            if (!e) return;
            dagAfter = e.cursor;
            dag.state = e.state;
            dag.progress = e.progress;
            // The end is shown after every job's final state (below).
            if (TERMINAL_DAG_STATES.includes(e.state)) return resolve({ done: true });
            render.dagChanged(e.cursor);
          },
          error: fail,
          complete: () => undefined,
        },
      );
      client.subscribe<{ jobStatusChanged: JobEvent }>(
        { query: JOB_SUB, variables: { id: dagId, after: jobAfter } },
        {
          next: ({ data, errors }) => {
            if (errors?.length) return reject(new CliError(describeError(errors[0])));
            const e = data?.jobStatusChanged;
            if (!e) return;
            jobAfter = e.cursor;
            const j = dag.jobs.find((x) => x.taskId === e.taskId);
            if (j) Object.assign(j, { state: e.state, tryNumber: e.tryNumber, progressPercent: e.progressPercent });
            else
              dag.jobs.push({
                taskId: e.taskId,
                state: e.state,
                tryNumber: e.tryNumber,
                progressPercent: e.progressPercent,
              });
            render.job({ ...e });
          },
          error: fail,
          complete: () => undefined,
        },
      );
    }).finally(() => client.dispose());
    if (ended.done) break;
    onReconnect(attempt + 1, ended.why);
    await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * 2 ** Math.min(attempt, 5))));
  }
  // The job stream may trail the DAG's: the final state of every job, in one read.
  const final = await snapshot(server, dagId);
  dag.state = final.dag.state;
  dag.progress = final.dag.progress;
  for (const j of final.dag.jobs) {
    const known = dag.jobs.find((x) => x.taskId === j.taskId);
    if (known) Object.assign(known, j);
    else dag.jobs.push(j);
  }
  render.catchUp();
  render.dagChanged(dagAfter);
  return dag;
}
