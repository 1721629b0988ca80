import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import { closedLoop, fmt, median, p99, sequential } from '../lib/stats';
import { SUBMIT_DAG, type BenchApp } from '../lib/env';
import { pick, ratioText, type Scenario } from '../lib/scenario';

const DAG = `query($id: ID!) {
  dag(id: $id) {
    id name state progress { total pending active completed failed skipped percent }
    jobs { id taskId name state jobLevel dependencies { taskId } assetStatus { expectedAssets missingRequiredAssets isComplete } }
    assetStatus { nodeTaskId completionPercentage isComplete }
  }
}`;

/** The same data in one hand-written statement. */
const RAW_DAG = `SELECT d.id, d.name, d.state,
    (SELECT json_agg(json_build_object(
        'id', j.id, 'taskId', j.task_id, 'name', j.name, 'state', j.state, 'jobLevel', j.job_level,
        'dependencies', (SELECT coalesce(json_agg(p.task_id), '[]') FROM job_dependencies jd JOIN jobs p ON p.id = jd.depends_on
                          WHERE jd.job_id = j.id),
        'expected', (SELECT coalesce(json_agg(e.asset_key ORDER BY e.asset_key), '[]') FROM node_asset_expectations e
                      WHERE e.tenant_id = d.tenant_id AND e.dag_id = d.id AND e.node_task_id = j.task_id),
        'materialized', (SELECT coalesce(json_agg(DISTINCT m.asset_key), '[]') FROM materializations m
                          WHERE m.tenant_id = d.tenant_id AND m.dag_id = d.id AND m.node_task_id = j.task_id))
        ORDER BY j.job_level, j.task_id)
       FROM jobs j WHERE j.tenant_id = d.tenant_id AND j.dag_id = d.id) AS jobs
  FROM dags d WHERE d.tenant_id = $1 AND d.id = $2`;

const ASSET = `query($k: String!) { asset(key: $k) { key namespace kind latest { id version uri sizeBytes } } }`;

/**
 * CPU seconds used so far by this process (server and load generator) and by the benchmark
 * database's PostgreSQL backends (Linux /proc; 0 where unreadable). Throughput on a busy
 * shared machine follows what the other tenants leave; CPU per request does not.
 */
async function cpuSeconds(pg: Pool): Promise<number> {
  const own = process.cpuUsage();
  let backends = 0;
  const { rows } = await pg.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
  );
  for (const { pid } of rows) {
    try {
      // Fields 14 and 15 (utime, stime) follow the parenthesised command name, in clock ticks.
      const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
      backends += (Number(stat[11]) + Number(stat[12])) / 100;
    } catch {
      // not on Linux, or the backend has gone: counted as nothing
    }
  }
  return (own.user + own.system) / 1e6 + backends;
}

async function submitTree(b: BenchApp, key: string, n: number): Promise<string> {
  const jobs = Array.from({ length: n }, (_, i) => ({
    id: `j${i}`,
    name: 'noop',
    executor: 'noop',
    dependencies: i ? [`j${Math.floor((i - 1) / 2)}`] : [],
    assets: [{ key: `read/out${i}` }],
  }));
  const d = await b.gql(SUBMIT_DAG, { input: { name: 'read', jobs } }, key);
  return d.submitDag.id as string;
}

export const read: Scenario = {
  name: 'read',
  ours: '`dag(id)` with its jobs, their dependencies and asset status (a 1,000-job DAG, one client); `asset(key)` with its latest materialization at 50 concurrent clients, over HTTP',
  baseline:
    'one hand-written SQL statement (`json_agg`) for the same DAG data through `pg`; a bare `node:http` server returning the same JSON body',
  anchor:
    'target: statements per request bounded (the same for 10 and 1,000 jobs); ≥ 0.5× the bare server’s requests/s (issue 18)',
  whenMissed:
    'The load generator and the server share the process and the machine’s two cores, so the requests/s of both are bounded by CPU; per request ours reads the JSON body, checks the API key (a revocation-evicted cache), the inputs and the cost (kept per document), runs the compiled query and its one SQL statement (shared with the tenant’s concurrent requests) and writes the answer with its ETag, straight from node:http (src/server/graphql-fast-path.ts), where the bare server writes a constant string.',
  async run(env) {
    const n = pick(env.opts.size, { tiny: 20, quick: 1000, full: 1000 });
    const reps = pick(env.opts.size, { tiny: 3, quick: 10, full: 30 });
    const durationMs = pick(env.opts.size, { tiny: 300, quick: 2000, full: 8000 });
    const clients = 50;
    // API role only: nothing runs the jobs, so the DAG stays as submitted while it is read.
    const b = await env.startApp(['api']);
    try {
      const t = await b.tenant();
      const small = await submitTree(b, t.key, 10);
      const big = await submitTree(b, t.key, n);
      // The submissions' after-commit work (a big DAG's planner-statistics refresh, its
      // dispatch pass) runs in the background: done before a request's statements are counted.
      await b.app.services.jobCommands.settled();
      const statements = async (id: string) => {
        const s0 = b.app.services.sql.total;
        await b.gql(DAG, { id }, t.key);
        return b.app.services.sql.total - s0;
      };
      const smallStmts = await statements(small);
      const bigStmts = await statements(big);
      const ours = await sequential(reps, () => b.gql(DAG, { id: big }, t.key));
      await env.pg.query(RAW_DAG, [t.tenantId, big]);
      const raw = await sequential(reps, () => env.pg.query(RAW_DAG, [t.tenantId, big]));

      // asset(key)
      await b.gql(
        `mutation($i: RecordMaterializationsInput!) { recordMaterializations(input: $i) { alreadyRecorded } }`,
        { i: { assets: [{ assetKey: 'read/hot', version: 'v1', kind: 'text', uri: 's3://b/hot', sizeBytes: '42' }] } },
        t.key,
      );
      const body = JSON.stringify({ query: ASSET, variables: { k: 'read/hot' } });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${t.key}` };
      const sample = await (await fetch(b.url, { method: 'POST', headers, body })).text();
      if (!sample.includes('"read/hot"')) throw new Error(`asset(key) answered ${sample.slice(0, 200)}`);
      const s0 = b.app.services.sql.total;
      await fetch(b.url, { method: 'POST', headers, body }).then((r) => r.text());
      const assetStmts = b.app.services.sql.total - s0;
      const cpu0 = await cpuSeconds(env.pg);
      const oursLoad = await closedLoop(clients, durationMs, async () => {
        const r = await fetch(b.url, { method: 'POST', headers, body });
        await r.text();
        if (r.status !== 200) throw new Error(String(r.status));
      });
      const oursCpuMs = ((await cpuSeconds(env.pg)) - cpu0) * 1000;
      const bare = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(sample);
        });
      });
      await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
      const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/graphql`;
      let bareLoad;
      let bareCpuMs = 0;
      try {
        const bareCpu0 = await cpuSeconds(env.pg);
        bareLoad = await closedLoop(clients, durationMs, async () => {
          const r = await fetch(bareUrl, { method: 'POST', headers, body });
          await r.text();
        });
        bareCpuMs = ((await cpuSeconds(env.pg)) - bareCpu0) * 1000;
      } finally {
        bare.closeAllConnections();
        await new Promise((r) => bare.close(r));
      }
      const rpsRatio = oursLoad.rps / bareLoad.rps;
      return {
        rows: [
          {
            metric: `dag(id) SQL statements per request (10 jobs → ${fmt(n, 0)} jobs)`,
            ours: `${smallStmts} → ${bigStmts}`,
            baseline: '1 → 1',
            ratio: '',
            target: 'bounded',
            verdict: bigStmts === smallStmts ? 'met' : 'missed',
          },
          {
            metric: `dag(id) p50 / p99 ms (${fmt(n, 0)} jobs)`,
            ours: `${fmt(median(ours))} / ${fmt(p99(ours))}`,
            baseline: `${fmt(median(raw))} / ${fmt(p99(raw))}`,
            ratio: ratioText(median(ours), median(raw), 1),
            target: '',
            verdict: 'info',
          },
          {
            metric: `asset(key) requests/s, ${clients} clients (p50 / p99 ms)`,
            ours: `${fmt(oursLoad.rps, 0)} (${fmt(median(oursLoad.latencies))} / ${fmt(p99(oursLoad.latencies))})`,
            baseline: `${fmt(bareLoad.rps, 0)} (${fmt(median(bareLoad.latencies))} / ${fmt(p99(bareLoad.latencies))})`,
            ratio: ratioText(oursLoad.rps, bareLoad.rps),
            target: '≥ 0.5×',
            verdict: rpsRatio >= 0.5 && oursLoad.failures === 0 ? 'met' : 'missed',
          },
          {
            metric: `diagnostic: asset(key) CPU ms per request, this process (server and load generator) + the database's PostgreSQL backends`,
            ours: fmt(oursCpuMs / oursLoad.requests, 3),
            baseline: fmt(bareCpuMs / bareLoad.requests, 3),
            ratio: ratioText(oursCpuMs / oursLoad.requests, bareCpuMs / bareLoad.requests, 1),
            target: '',
            verdict: 'info',
          },
        ],
        notes: [
          `asset(key) ran ${assetStmts} SQL statement${assetStmts === 1 ? '' : 's'} per request (API key check included); ${oursLoad.failures} failed requests of ${fmt(oursLoad.requests, 0)}.`,
          'The load generator (fetch, 50 closed loops) runs in the same process as the server it loads, for ours and for the bare server alike.',
        ],
      };
    } finally {
      await b.stop();
    }
  },
};
