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
