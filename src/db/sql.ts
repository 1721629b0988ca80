/** Anything that runs SQL: a DataSource, an EntityManager or a QueryRunner. */
export interface SqlRunner {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Run a statement and get its rows. TypeORM's Postgres driver answers UPDATE and DELETE
 * with `[rows, rowCount]` but SELECT and INSERT with the rows alone; this evens it out.
 */
export async function rows<T>(runner: SqlRunner, sql: string, params: unknown[] = []): Promise<T[]> {
  const result = await runner.query(sql, params);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}

interface PreparingRunner {
  connect?: () => Promise<unknown>;
  isReleased?: boolean;
  connection?: { logger?: { logQuery(query: string, parameters?: unknown[]): void } };
}

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Run a named (prepared) statement: Postgres parses and plans it once per connection, not
 * at each call (about 1 ms for the engine's batch statements). Inside a transaction the
 * runner is an EntityManager whose query runner holds the pg client; anything else
 * (a DataSource) runs the text unnamed. `name` must always go with the same `text`.
 */
export async function prepared<T>(runner: SqlRunner, name: string, text: string, params: unknown[]): Promise<T[]> {
  const qr = (runner as { queryRunner?: PreparingRunner }).queryRunner;
  if (qr?.connect && !qr.isReleased) {
    const client = (await qr.connect()) as PgClient;
    // Past TypeORM's query(): tell its logger, so statement counts stay whole.
    qr.connection?.logger?.logQuery(text, params);
    return (await client.query({ name, text, values: params })).rows as T[];
  }
  return rows<T>(runner, text, params);
}
