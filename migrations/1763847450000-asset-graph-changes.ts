import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The record of which transactions changed a tenant's asset graph (`asset_edges`): one row
 * per (tenant, transaction), written by statement triggers in the changing transaction
 * itself, so it commits (or rolls back) with the edges. A process that holds a copy of a
 * tenant's graph, read under snapshot S, knows it is still exact while no row of that
 * tenant is committed that S does not see (LineageGraphCache). Rows are only inserted, by
 * transactions that added or removed edges: no row is updated, so writers never wait on
 * each other here, and the table grows with the graph's changes, not with its readers.
 */
export class AssetGraphChanges1763847450000 implements MigrationInterface {
  name = 'AssetGraphChanges1763847450000';

  async up(q: QueryRunner): Promise<void> {
    // No foreign key to tenants: a tenant's deletion cascades into its edges, whose trigger
    // then finds no tenant and writes nothing; its rows here go by the cascade below.
    await q.query(`
      CREATE TABLE asset_graph_changes (
        tenant_id uuid NOT NULL,
        xid xid8 NOT NULL,
        PRIMARY KEY (tenant_id, xid)
      )`);
    await q.query(`
      CREATE FUNCTION asset_graph_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          INSERT INTO asset_graph_changes (tenant_id, xid)
          SELECT t.id, pg_current_xact_id() FROM tenants t
          ON CONFLICT DO NOTHING;
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO asset_graph_changes (tenant_id, xid)
          SELECT DISTINCT o.tenant_id, pg_current_xact_id() FROM changed_old o
           WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = o.tenant_id)
          ON CONFLICT DO NOTHING;
        ELSE
          INSERT INTO asset_graph_changes (tenant_id, xid)
          SELECT DISTINCT n.tenant_id, pg_current_xact_id() FROM changed_new n
          ON CONFLICT DO NOTHING;
          IF TG_OP = 'UPDATE' THEN
            INSERT INTO asset_graph_changes (tenant_id, xid)
            SELECT DISTINCT o.tenant_id, pg_current_xact_id() FROM changed_old o
            ON CONFLICT DO NOTHING;
          END IF;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER asset_edges_inserted AFTER INSERT ON asset_edges
      REFERENCING NEW TABLE AS changed_new FOR EACH STATEMENT EXECUTE FUNCTION asset_graph_changed()`);
    await q.query(`CREATE TRIGGER asset_edges_updated AFTER UPDATE ON asset_edges
      REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
      FOR EACH STATEMENT EXECUTE FUNCTION asset_graph_changed()`);
    await q.query(`CREATE TRIGGER asset_edges_deleted AFTER DELETE ON asset_edges
      REFERENCING OLD TABLE AS changed_old FOR EACH STATEMENT EXECUTE FUNCTION asset_graph_changed()`);
    await q.query(`CREATE TRIGGER asset_edges_truncated AFTER TRUNCATE ON asset_edges
      FOR EACH STATEMENT EXECUTE FUNCTION asset_graph_changed()`);
    // A tenant's rows go with it (no foreign key, see above).
    await q.query(`
      CREATE FUNCTION asset_graph_changes_of_tenant_gone() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM asset_graph_changes c USING gone g WHERE c.tenant_id = g.id;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER tenants_deleted_graph_changes AFTER DELETE ON tenants
      REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION asset_graph_changes_of_tenant_gone()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER tenants_deleted_graph_changes ON tenants`);
    await q.query(`DROP FUNCTION asset_graph_changes_of_tenant_gone()`);
    await q.query(`DROP TRIGGER asset_edges_truncated ON asset_edges`);
    await q.query(`DROP TRIGGER asset_edges_deleted ON asset_edges`);
    await q.query(`DROP TRIGGER asset_edges_updated ON asset_edges`);
    await q.query(`DROP TRIGGER asset_edges_inserted ON asset_edges`);
    await q.query(`DROP FUNCTION asset_graph_changed()`);
    await q.query(`DROP TABLE asset_graph_changes`);
  }
}
