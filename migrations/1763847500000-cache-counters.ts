import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Memoised execution's fleet-wide counters (`marie_cache_hits_total`,
 * `marie_cache_saved_seconds_total`): one row, counted up in each hit's transaction by
 * whichever worker commits it, read by the api's /metrics. Aggregates only, no tenant;
 * monotonic (purging old DAGs does not lower it). Starts from the CACHED attempts stored.
 */
export class CacheCounters1763847500000 implements MigrationInterface {
  name = 'CacheCounters1763847500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE cache_counters (
        id smallint PRIMARY KEY CHECK (id = 1),
        hits bigint NOT NULL DEFAULT 0,
        saved_seconds double precision NOT NULL DEFAULT 0
      )`);
    await q.query(`INSERT INTO cache_counters (id, hits, saved_seconds)
      SELECT 1, count(*), COALESCE(sum(saved_seconds), 0) FROM job_attempts WHERE outcome = 'CACHED'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cache_counters`);
  }
}
