/**
 * `npm run demo`: the whole platform in one process (api, scheduler, worker with the
 * example document pipeline; an embedded PostgreSQL when DATABASE_URL is unset), a key,
 * the sample claim form through ocr → classify ∥ extract → store, watched live, then its
 * claims and their lineage. Stops everything and exits 0 when the DAG completed.
 */
import 'reflect-metadata';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateClaimsPdf } from '../examples/document-pipeline/generate-document';
import { ALL_ROLES, startApp, type App } from '../src/app/app';
import { gql, type Server } from '../src/cli/client';
import { readDagFile } from '../src/cli/dag.command';
import { watchDag } from '../src/cli/dag-watch';
import { lineageText, type LineageGraph } from '../src/cli/fleet.command';
import { environment, loadConfig } from '../src/config/config';
import { loadWorkerExecutors } from '../src/main';
import { createLogger } from '../src/lib/logger';

const ROOT = path.resolve(__dirname, '..');
const say = (line = '') => process.stdout.write(`${line}\n`);

interface Claim {
  claimId: string;
  patient: string;
  amount: number;
}

async function demo(): Promise<number> {
  // A free port on loopback, whatever PORT says: the demo may run beside `npm start`.
  const config = loadConfig(environment(), { PORT: '0', HOST: '127.0.0.1' });
  const quiet = ['debug', 'trace'].includes(config.logLevel) ? config.logLevel : 'warn';
  const log = createLogger(quiet, 'marie-demo', config.logFormat);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'marie-demo-'));
  let app: App | null = null;
  try {
    say(
      config.databaseUrl
        ? 'Starting api, scheduler and worker…'
        : 'Starting api, scheduler, worker and an embedded PostgreSQL under .data/…',
    );
    const executors = await loadWorkerExecutors(
      config,
      log,
      path.join(ROOT, 'examples/document-pipeline/executors.yml'),
    );
    app = await startApp({ config, log, roles: ALL_ROLES, executors });
    const url = `http://127.0.0.1:${app.api!.port}/graphql`;

    const tenant = await app.services.apiKeys.ensureTenant('demo');
    const { key } = await app.services.apiKeys.create(tenant.id, 'demo', 'submitter');
    const server: Server = { url, key };
    say(`GraphQL at ${url}; a submitter key of tenant "demo" was made for this run.`);

    const pdf = path.join(tmp, 'claim-1.pdf');
    await writeFile(pdf, await generateClaimsPdf());
    const input = await readDagFile(path.join(ROOT, 'examples/dags/claim-1.json'));
    const dagId = `claim-1-${Date.now()}`;
    input.id = dagId;
    const jobs = input.jobs as Array<{ id: string; data?: { docs?: Array<{ uri?: string }> } }>;
    for (const doc of jobs.find((j) => j.id === 'ocr')?.data?.docs ?? []) doc.uri = pathToFileURL(pdf).href;
    await gql(server, `mutation ($input: SubmitDagInput!) { submitDag(input: $input) { id } }`, { input });
    say(`Submitted ${dagId} (examples/dags/claim-1.json on a generated two-page claim form). Watching it:`);
    say();

    const final = await watchDag(server, dagId, { tty: !!process.stdout.isTTY });
    say();
    if (final.state !== 'COMPLETED') {
      say(`The DAG ended ${final.state}: see \`marie dag show ${dagId}\` (MARIE_URL=${url}).`);
      return 1;
    }

    const { dag } = await gql<{
      dag: {
        jobs: Array<{
          taskId: string;
          output: { claims?: Claim[]; assets?: Array<{ assetKey: string; uri: string }> } | null;
        }>;
      };
    }>(server, `query ($id: ID!) { dag(id: $id) { jobs { taskId output } } }`, { id: dagId });
    const extract = dag.jobs.find((j) => j.taskId === 'extract')?.output;
    const claims = extract?.claims ?? [];
    say(`Claims extracted (${claims.length}):`);
    for (const c of claims) say(`  claim ${c.claimId}  ${c.patient.padEnd(12)} ${c.amount.toFixed(2).padStart(10)}`);
    const stored = extract?.assets?.find((a) => a.assetKey === 'extract/claims')?.uri;
    if (stored) say(`  stored as ${stored}`);
    say();

    const { lineage } = await gql<{ lineage: LineageGraph }>(
      server,
      `{ lineage(assetKey: "extract/claims", direction: UPSTREAM, depth: 5) {
          assetKey direction depth truncated nodes { assetKey distance } edges { fromAssetKey toAssetKey } } }`,
    );
    say('Where the claims came from:');
    say(lineageText(lineage));
    say();
    say('Done. `npm start` runs the same for real; `npx marie --help` lists the commands.');
    return 0;
  } finally {
    await app?.stop();
    await rm(tmp, { recursive: true, force: true });
  }
}

demo().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
