import { badInput } from '../../errors/domain-error';
import type { IncompleteNodePayload } from '../../core/events';

/** What services hand to resolvers and to other code (the DAG engine, the SDK). */
export interface AssetView {
  key: string;
  namespace: string;
  kind: string | null;
  description: string | null;
  tags: unknown;
  createdAt: Date;
  updatedAt: Date;
}

export interface MaterializationView {
  id: string;
  assetKey: string;
  version: string;
  partitionKey: string | null;
  jobId: string | null;
  tryNumber: number | null;
  dagId: string | null;
  nodeTaskId: string | null;
  storageEventId: string | null;
  kind: string | null;
  /** Digits (a 64-bit integer). */
  sizeBytes: string | null;
  checksum: string | null;
  uri: string | null;
  metadata: Record<string, unknown> | null;
  codeFingerprint: string | null;
  promptFingerprint: string | null;
  createdAt: Date;
}

export interface LineageRefView {
  assetKey: string;
  version: string;
  partitionKey: string | null;
  /** The materialization that produced that version (the latest such), when recorded here. */
  materialization: MaterializationView | null;
}

export type StaleCauseName = 'UPSTREAM_CHANGED' | 'UPSTREAM_STALE' | 'CODE_CHANGED';

export interface StaleReasonView {
  cause: StaleCauseName;
  assetKey: string;
  usedVersion: string | null;
  latestVersion: string | null;
}

/** A node's asset status; what an ASSETS_INCOMPLETE event lists is the same view. */
export type NodeAssetStatusView = IncompleteNodePayload;

/** `[A-Za-z0-9_./-]`, 1 to 255 characters (DESIGN.md "Assets"); `~` too, the OpenLineage collision suffix. */
export const ASSET_KEY = /^[A-Za-z0-9_./~-]{1,255}$/;
/** 1 to 128 printable ASCII characters. */
export const VERSION = /^[\x20-\x7E]{1,128}$/;

export function assertAssetKey(field: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || !ASSET_KEY.test(key)) {
    throw badInput(field, 'an asset key is 1 to 255 characters of [A-Za-z0-9_./~-]');
  }
}

/** Columns of `materializations` (aliased `m`) in the order `toMaterializationView` reads. */
export const MAT_COLUMNS = `m.id::text AS id, m.asset_key, m.version, m.partition_key, m.job_id, m.try_number,
  m.dag_id, m.node_task_id, m.storage_event_id, m.kind, m.size_bytes::text AS size_bytes, m.checksum, m.uri,
  m.metadata, m.code_fingerprint, m.prompt_fingerprint, m.created_at`;

/**
 * MAT_COLUMNS aliased `latest_<name>`: a materialization beside an asset's own columns in one
 * row (both have `kind` and `created_at`); `latestOf` reads them back.
 */
export const LATEST_MAT_COLUMNS = MAT_COLUMNS.split(',')
  .map((c) => c.trim())
  .map((c) => {
    const [expr, alias] = c.split(/\s+AS\s+/);
    return `${expr} AS latest_${alias ?? expr.slice(2)}`;
  })
  .join(', ');

/** The materialization of a row selected with LATEST_MAT_COLUMNS, or null when it had none. */
export function latestOf(row: Record<string, unknown>): MaterializationView | null {
  if (row.latest_id === null || row.latest_id === undefined) return null;
  const r: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (k.startsWith('latest_')) r[k.slice(7)] = v;
  return toMaterializationView(r as unknown as MaterializationRow);
}

import type { MaterializationRow } from '../../repositories/materialization-replay.repository';

export type { MaterializationRow };

export function toMaterializationView(r: MaterializationRow): MaterializationView {
  return {
    id: String(r.id),
    assetKey: r.asset_key,
    version: r.version,
    partitionKey: r.partition_key,
    jobId: r.job_id,
    tryNumber: r.try_number,
    dagId: r.dag_id,
    nodeTaskId: r.node_task_id,
    storageEventId: r.storage_event_id,
    kind: r.kind,
    sizeBytes: r.size_bytes,
    checksum: r.checksum,
    uri: r.uri,
    metadata: r.metadata,
    codeFingerprint: r.code_fingerprint,
    promptFingerprint: r.prompt_fingerprint,
    createdAt: r.created_at,
  };
}

export const ASSET_COLUMNS = `a.key, a.namespace, a.kind, a.description, a.tags, a.created_at, a.updated_at`;

export interface AssetRow {
  key: string;
  namespace: string;
  kind: string | null;
  description: string | null;
  tags: unknown;
  created_at: Date;
  updated_at: Date;
}

export function toAssetView(r: AssetRow): AssetView {
  return {
    key: r.key,
    namespace: r.namespace,
    kind: r.kind,
    description: r.description,
    tags: r.tags,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Bigint ids arrive from clients as strings; anything else reads as missing. */
export const isBigintId = (id: string): boolean => /^\d{1,18}$/.test(id);
