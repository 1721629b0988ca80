import type { Logger as TypeOrmLogger } from 'typeorm';
import type { Logger } from 'pino';

/**
 * TypeORM logger that counts every statement sent to Postgres (tests and benchmarks read
 * the count to prove a query costs a bounded number of statements) and forwards errors
 * and slow queries to the application logger.
 */
export class SqlCounter implements TypeOrmLogger {
  private count = 0;
  private readonly recorded: string[] = [];
  private recording = false;

  constructor(private readonly appLog?: Logger) {}

  /** Statements issued since the process started. */
  get total(): number {
    return this.count;
  }

  /** Start keeping the text of each statement (for a test's failure message). */
  record(on: boolean): void {
    this.recording = on;
    this.recorded.length = 0;
  }

  get statements(): readonly string[] {
    return this.recorded;
  }

  logQuery(query: string): void {
    this.count += 1;
    if (this.recording) this.recorded.push(query);
  }

  logQueryError(error: string | Error, query: string): void {
    this.appLog?.debug({ err: error, query }, 'sql error');
  }

  logQuerySlow(time: number, query: string): void {
    this.appLog?.warn({ ms: time, query: query.slice(0, 500) }, 'slow sql');
  }

  logSchemaBuild(): void {}

  logMigration(message: string): void {
    this.appLog?.info({ migration: message }, 'migration');
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.appLog?.warn({ message }, 'typeorm');
  }
}
