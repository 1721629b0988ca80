import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from '../entities';
import type { SqlCounter } from './sql-counter';

export interface DataSourceOptions {
  url: string;
  logger?: SqlCounter;
  poolSize?: number;
  applicationName?: string;
}

/** How long a new pool connection may take before the attempt fails. */
export const CONNECT_TIMEOUT_MS = 5_000;

/** The one way to build a DataSource: migrations only, never synchronize. */
export function createDataSource(opts: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: opts.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    logger: opts.logger,
    maxQueryExecutionTime: 1_000,
    applicationName: opts.applicationName ?? 'marie',
    // A server that drops packets instead of refusing must not hold a request forever: a
    // connection not made within 5 s is an outage (SERVICE_UNAVAILABLE), like a refusal.
    extra: { max: opts.poolSize ?? 20, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
  });
}
