import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { CliError, gql, resolveServer } from './client';
import { exitCodeOf, watchDag } from './dag-watch';
import { isJson, percentText, printJson, println, table, withJson } from './output';

const SUBMIT = `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id name state progress { total } } }`;
const LIST = `query ($state: DagState, $name: String, $first: Int, $after: String) {
  dags(state: $state, name: $name, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id name state createdAt completedAt progress { total completed failed percent } } } } }`;
const SHOW = `query ($id: ID!) { dag(id: $id) {
  id name state createdAt startedAt completedAt submittedBy
  progress { total pending active completed failed skipped percent }
  jobs { taskId name executor state tryNumber progressPercent error output } } }`;
const CANCEL = `mutation ($id: ID!) { cancelDag(id: $id) { id state } }`;
const CANCEL_JOB = `mutation ($id: ID!, $task: String!) { cancelJob(dagId: $id, taskId: $task) { taskId state } }`;
const FAILED_JOBS = `query ($id: ID!) { dag(id: $id) { id jobs { taskId state } } }`;
const RETRY = `mutation ($id: ID!, $task: String!) { retryJob(dagId: $id, taskId: $task) { taskId state tryNumber } }`;

interface ShownDag {
  id: string;
  name: string;
  state: string;
  createdAt: string;
  completedAt: string | null;
  progress: Record<'total' | 'pending' | 'active' | 'completed' | 'failed' | 'skipped' | 'percent', number>;
  jobs: ShownJob[];
}

interface ShownJob {
  taskId: string;
  name: string;
  executor: string;
  state: string;
  tryNumber: number;
  progressPercent: number | null;
  error: string | null;
  output: unknown;
}

/** A DAG document (the SubmitDagInput) from a .json, .yaml or .yml file. */
export async function readDagFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid ${path.extname(file).slice(1) || 'JSON'}: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new CliError(`${file}: expected a DAG object`);
  return doc as Record<string, unknown>;
}

/** Watch and set the exit code by the final state (0 COMPLETED, 1 FAILED, 2 CANCELLED). */
async function watchAndExit(id: string, json: boolean): Promise<void> {
  const dag = await watchDag(resolveServer(), id, { json, tty: !json && !!process.stdout.isTTY });
  process.exitCode = exitCodeOf(dag.state);
}

export function registerDagCommands(program: Command): void {
  const dag = program.command('dag').description('Submit, watch and manage DAGs (MARIE_URL, MARIE_KEY or marie login)');

  withJson(
    dag
      .command('submit <file>')
      .description('Submit a DAG from a .json or .yaml file (the SubmitDagInput: id, name, jobs)')
      .option('--id <id>', "the DAG's id (overrides the file's)")
      .option('--watch', 'then watch it; the exit code is its final state (0 COMPLETED, 1 FAILED, 2 CANCELLED)', false),
  ).action(async (file: string, o: { id?: string; watch: boolean }, cmd: Command) => {
    const input = await readDagFile(file);
    if (o.id) input.id = o.id;
    const { submitDag } = await gql<{
      submitDag: { id: string; name: string; state: string; progress: { total: number } };
    }>(resolveServer(), SUBMIT, { input });
    if (isJson(cmd) && !o.watch) return printJson(submitDag);
    if (!isJson(cmd))
      println(
        `submitted dag ${submitDag.id} (${submitDag.name}, ${submitDag.progress.total} jobs): ${submitDag.state}`,
      );
    if (o.watch) await watchAndExit(submitDag.id, isJson(cmd));
  });

  withJson(
    dag
      .command('watch <id>')
      .description(
        'Follow a DAG until it ends: a line per job (state, try, progress); exit 0 COMPLETED, 1 FAILED, 2 CANCELLED',
      ),
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    await watchAndExit(id, isJson(cmd));
  });

  withJson(
    dag
      .command('list')
      .description("The tenant's DAGs, newest first")
      .option('--state <state>', 'CREATED, ACTIVE, COMPLETED, FAILED or CANCELLED')
      .option('--name <name>', 'only DAGs of this name')
      .option('--first <n>', 'how many', (v) => Number.parseInt(v, 10), 50)
      .option('--after <cursor>', 'the page after this cursor'),
  ).action(async (o: { state?: string; name?: string; first: number; after?: string }, cmd: Command) => {
    const { dags } = await gql<{
      dags: {
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        edges: Array<{
          node: { id: string; name: string; state: string; createdAt: string; progress: { percent: number } };
        }>;
      };
    }>(resolveServer(), LIST, { state: o.state?.toUpperCase(), name: o.name, first: o.first, after: o.after });
    const nodes = dags.edges.map((e) => e.node);
    if (isJson(cmd)) return printJson({ totalCount: dags.totalCount, pageInfo: dags.pageInfo, dags: nodes });
    println(
      table(
        ['ID', 'NAME', 'STATE', 'PROGRESS', 'CREATED'],
        nodes.map((d) => [d.id, d.name, d.state, percentText(d.progress.percent), d.createdAt]),
      ),
    );
    if (dags.pageInfo.hasNextPage) println(`more: marie dag list --after ${dags.pageInfo.endCursor}`);
  });

  withJson(dag.command('show <id>').description("A DAG, its jobs and their outputs (the pipeline's results)")).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const { dag: d } = await gql<{ dag: ShownDag | null }>(resolveServer(), SHOW, { id });
      if (!d) throw new CliError(`NOT_FOUND: DAG ${id} not found`);
      if (isJson(cmd)) return printJson(d);
      const p = d.progress;
      println(`dag ${d.id} (${d.name}) ${d.state} ${percentText(p.percent)}`);
      println(
        `  ${p.total} jobs: ${p.completed} completed, ${p.active} active, ${p.pending} pending, ${p.failed} failed, ${p.skipped} skipped`,
      );
      println(`  created ${d.createdAt}${d.completedAt ? `, ended ${d.completedAt}` : ''}`);
      println();
      println(
        table(
          ['TASK', 'EXECUTOR', 'STATE', 'TRY', 'PROGRESS', 'ERROR'],
          d.jobs.map((j) => [j.taskId, j.executor, j.state, j.tryNumber, percentText(j.progressPercent), j.error]),
        ),
      );
      const withOutput = d.jobs.filter((j) => j.output != null);
      if (withOutput.length) println('\nOutputs:');
      for (const j of withOutput) {
        println(`  ${j.taskId}:`);
        println(
          JSON.stringify(j.output, null, 2)
            .split('\n')
            .map((l) => `    ${l}`)
            .join('\n'),
        );
      }
    },
  );

  withJson(
    dag
      .command('cancel <id>')
      .description('Cancel a DAG (or one job of it with --job: its descendants are skipped)')
      .option('--job <taskId>', 'cancel only this job'),
  ).action(async (id: string, o: { job?: string }, cmd: Command) => {
    const server = resolveServer();
    if (o.job) {
      const { cancelJob } = await gql<{ cancelJob: { taskId: string; state: string } }>(server, CANCEL_JOB, {
        id,
        task: o.job,
      });
      return isJson(cmd) ? printJson(cancelJob) : println(`job ${id}/${cancelJob.taskId}: ${cancelJob.state}`);
    }
    const { cancelDag } = await gql<{ cancelDag: { id: string; state: string } }>(server, CANCEL, { id });
    return isJson(cmd) ? printJson(cancelDag) : println(`dag ${cancelDag.id}: ${cancelDag.state}`);
  });

  withJson(
    dag
      .command('retry <id> [taskIds...]')
      .description('Run failed, expired or cancelled jobs again (all of them when no task id is given)'),
  ).action(async (id: string, taskIds: string[], _o: unknown, cmd: Command) => {
    const server = resolveServer();
    let tasks = taskIds;
    if (tasks.length === 0) {
      const { dag: d } = await gql<{ dag: { jobs: Array<{ taskId: string; state: string }> } | null }>(
        server,
        FAILED_JOBS,
        { id },
      );
      if (!d) throw new CliError(`NOT_FOUND: DAG ${id} not found`);
      tasks = d.jobs.filter((j) => ['FAILED', 'EXPIRED', 'CANCELLED'].includes(j.state)).map((j) => j.taskId);
      if (tasks.length === 0)
        throw new CliError(`CONFLICT: DAG ${id} has no failed, expired or cancelled job to retry`);
    }
    const retried: Array<{ taskId: string; state: string; tryNumber: number }> = [];
    for (const task of tasks) {
      retried.push((await gql<{ retryJob: (typeof retried)[number] }>(server, RETRY, { id, task })).retryJob);
    }
    if (isJson(cmd)) return printJson(retried);
    for (const j of retried) println(`job ${id}/${j.taskId}: ${j.state} (try ${j.tryNumber})`);
  });
}
