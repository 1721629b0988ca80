import type { EntityManager } from 'typeorm';
import { badInput } from '../../errors/domain-error';
import { assertAssetKey } from './asset-views';
import type { ServiceTxHandlers } from '../tx-events';

/** An asset a DAG node is expected to produce. */
export interface AssetExpectation {
  key: string;
  kind?: string | null;
  /** Default false. */
  isPrimary?: boolean;
  /** Default true. */
  isRequired?: boolean;
}

export interface NormalizedExpectation {
  key: string;
  kind: string | null;
  isPrimary: boolean;
  isRequired: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function optBool(field: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw badInput(field, 'must be true or false');
  return v;
}

function one(item: unknown, field: string): NormalizedExpectation {
  if (typeof item === 'string') {
    assertAssetKey(field, item);
    return { key: item, kind: null, isPrimary: false, isRequired: true };
  }
  if (!isRecord(item)) throw badInput(field, 'an asset is a key or an object with a key');
  assertAssetKey(`${field}.key`, item.key);
  const kind = item.kind ?? null;
  if (kind !== null && (typeof kind !== 'string' || kind.length < 1 || kind.length > 64)) {
    throw badInput(`${field}.kind`, 'must be a string of 1 to 64 characters');
  }
  return {
    key: item.key,
    kind,
    isPrimary: optBool(`${field}.isPrimary`, item.isPrimary ?? item.is_primary, false),
    isRequired: optBool(`${field}.isRequired`, item.isRequired ?? item.is_required, true),
  };
}

/**
 * A node's expected assets from any accepted form: a key string, a list of keys or
 * objects, `{ assets: [...] }` (the seed's `asset_config`, snake_case or camelCase), or a
 * single object with a key. Bad ones are refused with BAD_USER_INPUT naming `field`.
 */
export function normalizeAssetConfig(config: unknown, field = 'assets'): NormalizedExpectation[] {
  if (config === undefined || config === null) return [];
  let items: unknown[];
  let base = field;
  if (typeof config === 'string') items = [config];
  else if (Array.isArray(config)) items = config;
  else if (isRecord(config) && 'assets' in config) {
    if (!Array.isArray(config.assets)) throw badInput(`${field}.assets`, 'must be a list');
    items = config.assets;
    base = `${field}.assets`;
  } else if (isRecord(config) && 'key' in config) items = [config];
  else throw badInput(field, 'expected a key, a list of keys or assets, or { assets: [...] }');
  if (items.length > 1_000) throw badInput(base, 'at most 1,000 assets per node');
  const out: NormalizedExpectation[] = [];
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const e = one(item, Array.isArray(config) || base !== field ? `${base}[${i}]` : base);
    if (seen.has(e.key)) throw badInput(`${base}[${i}]`, `asset ${e.key} is named twice`);
    seen.add(e.key);
    out.push(e);
  });
  return out;
}

/** Stores the assets each DAG node is expected to produce (called by submitDag in its transaction). */
export class AssetExpectationService {
  /** One INSERT for every node and asset, whatever the count; declaring again updates. */
  async declare(
    manager: EntityManager,
    tenantId: string,
    dagId: string,
    nodes: Array<{ nodeTaskId: string; assets: AssetExpectation[] }>,
  ): Promise<void> {
    const rows: Array<NormalizedExpectation & { node: string }> = [];
    const seenNodes = new Set<string>();
    nodes.forEach((n, i) => {
      if (typeof n.nodeTaskId !== 'string' || n.nodeTaskId.length < 1 || n.nodeTaskId.length > 255) {
        throw badInput(`nodes[${i}].nodeTaskId`, 'must be 1 to 255 characters');
      }
      if (seenNodes.has(n.nodeTaskId)) throw badInput(`nodes[${i}].nodeTaskId`, `${n.nodeTaskId} is named twice`);
      seenNodes.add(n.nodeTaskId);
      for (const e of normalizeAssetConfig(n.assets, `nodes[${i}].assets`)) rows.push({ ...e, node: n.nodeTaskId });
    });
    if (!rows.length) return;
    await manager.query(
      `INSERT INTO node_asset_expectations AS x (tenant_id, dag_id, node_task_id, asset_key, kind, is_primary, is_required)
       SELECT $1, $2, u.n, u.k, u.kind, u.p, u.r
         FROM unnest($3::text[], $4::text[], $5::text[], $6::boolean[], $7::boolean[]) AS u(n, k, kind, p, r)
       ON CONFLICT (tenant_id, dag_id, node_task_id, asset_key) DO UPDATE
         SET kind = EXCLUDED.kind, is_primary = EXCLUDED.is_primary, is_required = EXCLUDED.is_required`,
      [
        tenantId,
        dagId,
        rows.map((r) => r.node),
        rows.map((r) => r.key),
        rows.map((r) => r.kind),
        rows.map((r) => r.isPrimary),
        rows.map((r) => r.isRequired),
      ],
    );
  }
}

/** submitDag (in its transaction): the nodes' declared assets become their expectations. */
export function registerExpectationHandlers(handlers: ServiceTxHandlers, expectations: AssetExpectationService): void {
  handlers.on('dag.submitted', async (m, { tenantId, dagId, dag }) => {
    const nodes = dag.jobs.filter((j) => j.assets.length).map((j) => ({ nodeTaskId: j.taskId, assets: j.assets }));
    if (nodes.length) await expectations.declare(m, tenantId, dagId, nodes);
  });
}
