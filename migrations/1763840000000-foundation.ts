import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Foundation1763840000000 implements MigrationInterface {
  name = 'Foundation1763840000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug text NOT NULL UNIQUE CHECK (slug ~ '^[A-Za-z0-9_.-]{1,64}$'),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('reader','submitter','executor','admin')),
        key_hash text NOT NULL UNIQUE,
        key_prefix text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, created_at)`);
    await q.query(`
      CREATE TABLE workers (
        id text PRIMARY KEY,
        hostname text NOT NULL,
        executors text[] NOT NULL DEFAULT '{}',
        gpus jsonb NOT NULL DEFAULT '[]',
        concurrency int NOT NULL DEFAULT 0,
        active_jobs int NOT NULL DEFAULT 0,
        healthy boolean NOT NULL DEFAULT true,
        started_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX workers_last_seen_idx ON workers (last_seen_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE workers`);
    await q.query(`DROP TABLE api_keys`);
    await q.query(`DROP TABLE tenants`);
  }
}
