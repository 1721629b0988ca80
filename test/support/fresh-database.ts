import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createMigratedDatabase } from './migrated-database';

/**
 * A migrated database of the test's own on the run's server, for what the run's shared
 * database cannot show (its tables' planner statistics, say, which every file's rows move).
 * `drop` removes it once nothing is connected.
 */
export function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  return createMigratedDatabase(inject('adminDatabaseUrl'), `marie_test_own_${randomBytes(4).toString('hex')}`);
}
