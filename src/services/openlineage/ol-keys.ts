import { createHash } from 'node:crypto';
import { computeAssetVersion } from '../../core/asset-version';
import type { Facets } from './ol-validate';

/**
 * The asset key of an OpenLineage dataset (DESIGN.md "OpenLineage"): `ol/` + slug(namespace)
 * + `/` + slug(name), where a slug turns every character outside `[A-Za-z0-9_.-]` into `-`.
 * The slug loses information, so the mapping table (and the asset's tags) keep the original
 * pair; a key that is taken by another dataset, or longer than 255 characters, gets the
 * suffix `~` + the first 8 hex digits of sha256(namespace NUL name).
 */
export const slug = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '-');

export const MAX_KEY = 255;

export function suffixOf(namespace: string, name: string): string {
  return `~${createHash('sha256').update(`${namespace}\0${name}`, 'utf8').digest('hex').slice(0, 8)}`;
}

/** The key before any collision: the plain rule, or the suffixed one when it is too long. */
export function baseKey(namespace: string, name: string): string {
  const plain = `ol/${slug(namespace)}/${slug(name)}`;
  return plain.length <= MAX_KEY ? plain : suffixedKey(namespace, name);
}

/** The key with the collision suffix, cut so that it fits 255 characters. */
export function suffixedKey(namespace: string, name: string): string {
  const suffix = suffixOf(namespace, name);
  return `ol/${slug(namespace)}/${slug(name)}`.slice(0, MAX_KEY - suffix.length) + suffix;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** Length-framed fields (8-byte big-endian length, then the UTF-8 bytes), as FRAMED frames them. */
export function framed(fields: readonly string[]): Buffer {
  return Buffer.concat(
    fields.flatMap((f) => {
      const b = Buffer.from(f, 'utf8');
      return [u64(b.length), b];
    }),
  );
}

/** The `datasetVersion` of a dataset's `version` facet, when it has one. */
export function datasetVersionOf(facets: Facets): string | null {
  const v = facets.version as { datasetVersion?: unknown } | undefined;
  return v && typeof v.datasetVersion === 'string' && v.datasetVersion.length ? v.datasetVersion : null;
}

/**
 * The version of a dataset an OpenLineage run wrote: its version facet's `datasetVersion`
 * as the FRAMED payload when present, else FRAMED over (namespace, name, runId).
 */
export function olVersion(namespace: string, name: string, runId: string, facets: Facets): string {
  const declared = datasetVersionOf(facets);
  return computeAssetVersion({ payload: declared ?? framed([namespace, name, runId]) });
}

/**
 * Facets merged by name: a later facet replaces an earlier one of the same name (last
 * write wins) and a facet `{ "_deleted": true }` removes it.
 */
export function mergeFacets(into: Facets, from: Facets): Facets {
  const out: Facets = { ...into };
  for (const [name, facet] of Object.entries(from)) {
    if ((facet as { _deleted?: unknown })._deleted === true) delete out[name];
    else out[name] = facet;
  }
  return out;
}
