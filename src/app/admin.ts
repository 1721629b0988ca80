import type { DataSource } from 'typeorm';
import { loadConfig } from '../config/config';
import { SqlCounter } from '../db/sql-counter';
import { createLogger } from '../lib/logger';
import { ApiKeyService, type KeyRevokedListener } from '../services/api-key.service';
import { openDatabase, resolveDatabase } from './app';

/** What the command line's database commands work with (keys, migrations). */
export interface AdminHandle {
  ds: DataSource;
  /** The API keys of this database; `revoked` tells running servers of a revocation. */
  apiKeys: (revoked?: KeyRevokedListener) => ApiKeyService;
}

/** Open the configured database (embedded when DATABASE_URL is unset), run `fn`, close. */
export async function withDatabase<T>(fn: (admin: AdminHandle) => Promise<T>, migrate = true): Promise<T> {
  const config = loadConfig();
  const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'marie-cli', config.logFormat);
  const { url, embedded } = await resolveDatabase(config, log);
  const ds = await openDatabase(url, new SqlCounter(log), migrate);
  try {
    return await fn({ ds, apiKeys: (revoked) => new ApiKeyService(ds, revoked) });
  } finally {
    await ds.destroy();
    await embedded?.stop();
  }
}
