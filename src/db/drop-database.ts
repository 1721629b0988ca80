import type { Client } from 'pg';

/**
 * Drop a scratch database (a test run's or a benchmark's): first give the connections that
 * are still closing up to `waitMs` to go, so FORCE does not kill a client in the middle of
 * its own shutdown (its owner would see an unhandled 57P01), then drop whatever is left.
 */
export async function dropDatabaseWhenIdle(admin: Client, name: string, waitMs = 5_000): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`refusing to drop database ${name}`);
  const until = Date.now() + waitMs;
  for (;;) {
    const r = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    if ((r.rows[0]?.n ?? 0) === 0 || Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}
