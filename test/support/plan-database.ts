import { Client } from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freshDatabase } from './fresh-database';
import { startTestApp, type TestApp } from './test-app';

/** A node of `EXPLAIN (ANALYZE, FORMAT JSON)`, with the fields the plan tests read. */
export type PlanNode = {
  'Node Type': string;
  'Actual Loops': number;
  'Actual Rows': number;
  'Index Name'?: string;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
};

/** A plan node and every node under it. */
export const nodesOf = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodesOf)];

/**
 * For a file that explains the engine's statements: a database of its own (its statistics
 * are the file's), an api-only app on it (no scheduler, so no sweep claims behind the test's
 * back) and a pg client; set up before the file's tests and removed after them.
 */
export function planDatabase(): { readonly app: TestApp; readonly pg: Client } {
  let db: { url: string; drop: () => Promise<void> } | undefined;
  let app: TestApp | undefined;
  let pg: Client | undefined;
  beforeAll(async () => {
    db = await freshDatabase();
    app = await startTestApp({ roles: ['api'], env: { DATABASE_URL: db.url } });
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterAll(async () => {
    await pg?.end();
    await app?.stop();
    await db?.drop();
  });
  return {
    get app() {
      return app!;
    },
    get pg() {
      return pg!;
    },
  };
}
