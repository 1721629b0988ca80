import { Client } from 'pg';
import { createDataSource } from '../../src/db/data-source';
import { dropDatabaseWhenIdle } from '../../src/db/drop-database';

/** `url` with its database name replaced. */
export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * Database `name` created on the server at `serverUrl` and migrated; its URL, and `drop`,
 * which removes it once nothing is connected. The run's database (global-setup.ts) and a
 * test's own (fresh-database.ts) are both made here.
 */
export async function createMigratedDatabase(
  serverUrl: string,
  name: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(serverUrl, name);
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
