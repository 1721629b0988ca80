import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { inject } from 'vitest';
import { createDataSource } from '../../src/db/data-source';
import { dropDatabaseWhenIdle } from '../../src/db/drop-database';

/**
 * A migrated database of the test's own on the run's server, for what the run's shared
 * database cannot show (its tables' planner statistics, say, which every file's rows move).
 * `drop` removes it once nothing is connected.
 */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const serverUrl = inject('adminDatabaseUrl');
  const name = `marie_test_own_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const ds = createDataSource({ url });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
  } finally {
    await ds.destroy();
  }
  return {
    url,
    drop: async () => {
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      try {
        await dropDatabaseWhenIdle(c, name);
      } finally {
        await c.end();
      }
    },
  };
}
