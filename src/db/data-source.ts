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
    extra: { max: opts.poolSize ?? 20 },
  });
}
