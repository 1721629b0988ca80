import type { DataSource, EntityManager } from 'typeorm';
import type { MaterializationService } from '../assets/materialization.service';
import type {
  OlDatasetKey,
  OlRunDataset,
  OlRunState,
  OpenLineageRepository,
} from '../../repositories/openlineage.repository';
import { baseKey, datasetVersionOf, framed, mergeFacets, olVersion, suffixedKey } from './ol-keys';
import type { OlDataset, OlEvent } from './ol-validate';
import { computeAssetVersion } from '../../core/asset-version';
import { conflict } from '../../errors/domain-error';

const pairId = (namespace: string, name: string): string => `${namespace}\0${name}`;

/** Datasets added up by (namespace, name): facets merged by name, the later event last. */
function sumDatasets(into: OlRunDataset[], from: readonly OlDataset[]): OlRunDataset[] {
  const out = new Map(into.map((d) => [pairId(d.namespace, d.name), d]));
  for (const d of from) {
    const id = pairId(d.namespace, d.name);
    const was = out.get(id);
    out.set(id, {
      namespace: d.namespace,
      name: d.name,
      facets: mergeFacets(was?.facets ?? {}, d.facets),
      ioFacets: mergeFacets(was?.ioFacets ?? {}, d.ioFacets),
    });
  }
  return [...out.values()];
}

/**
 * OpenLineage in (DESIGN.md "OpenLineage"): validated events are stored raw, append-only,
 * and mapped in the same transaction: datasets to assets, a COMPLETE RunEvent to one
 * materialization per output dataset through the ordinary recording path.
 */
export class OpenLineageService {
  constructor(
    private readonly ds: DataSource,
    private readonly repo: OpenLineageRepository,
    private readonly materializations: MaterializationService,
  ) {}

  /** Store and map validated events, all or nothing; returns how many were stored. */
  async ingest(tenantId: string, events: readonly OlEvent[]): Promise<number> {
    await this.ds.transaction(async (m) => {
      await this.repo.appendEvents(
        m,
        tenantId,
        events.map((e) => ({
          kind: e.kind,
          runId: e.runId,
          eventType: e.eventType,
          eventTime: e.eventTime,
          payload: JSON.stringify(e.raw),
        })),
      );
      const keys = await this.mapDatasets(m, tenantId, events);
      for (const e of events) {
        if (e.kind === 'RUN') await this.applyRunEvent(m, tenantId, e, keys);
        else if (e.kind === 'DATASET' && e.dataset) await this.applyDatasetEvent(m, tenantId, e.dataset);
      }
    });
    return events.length;
  }

  /** Every dataset the events name gets its key (sorted: one lock order); key by pair id. */
  private async mapDatasets(
    m: EntityManager,
    tenantId: string,
    events: readonly OlEvent[],
  ): Promise<Map<string, string>> {
    const pairs = new Map<string, { namespace: string; name: string }>();
    for (const e of events) {
      for (const d of [...e.inputs, ...e.outputs, ...(e.dataset ? [e.dataset] : [])]) {
        pairs.set(pairId(d.namespace, d.name), { namespace: d.namespace, name: d.name });
      }
    }
    const all = [...pairs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
    const keys = new Map<string, string>();
    for (const k of await this.repo.datasetKeys(m, tenantId, all)) keys.set(pairId(k.namespace, k.name), k.assetKey);
    const fresh = all.filter((p) => !keys.has(pairId(p.namespace, p.name)));
    if (fresh.length) {
      const taken = await this.repo.takenKeys(
        m,
        tenantId,
        fresh.map((p) => baseKey(p.namespace, p.name)),
      );
      const maps: OlDatasetKey[] = fresh.map((p) => {
        const base = baseKey(p.namespace, p.name);
        const assetKey = taken.has(base) ? suffixedKey(p.namespace, p.name) : base;
        taken.add(assetKey);
        return { ...p, assetKey };
      });
      await this.repo.mapDatasets(m, tenantId, maps);
      for (const k of await this.repo.datasetKeys(m, tenantId, fresh))
        keys.set(pairId(k.namespace, k.name), k.assetKey);
      // A concurrent batch took a plain key meanwhile: those pairs get the suffixed one.
      const raced = fresh.filter((p) => !keys.has(pairId(p.namespace, p.name)));
      if (raced.length) {
        await this.repo.mapDatasets(
          m,
          tenantId,
          raced.map((p) => ({ ...p, assetKey: suffixedKey(p.namespace, p.name) })),
        );
        for (const k of await this.repo.datasetKeys(m, tenantId, raced)) {
          keys.set(pairId(k.namespace, k.name), k.assetKey);
        }
        const lost = raced.find((p) => !keys.has(pairId(p.namespace, p.name)));
        if (lost) throw conflict(`dataset ${lost.namespace} ${lost.name}: no free asset key, try again`);
      }
    }
    return keys;
  }

  private async applyDatasetEvent(m: EntityManager, tenantId: string, d: OlDataset): Promise<void> {
    const facets = await this.repo.datasetFacets(m, tenantId, d.namespace, d.name);
    await this.repo.saveDatasetFacets(m, tenantId, d.namespace, d.name, mergeFacets(facets, d.facets));
  }

  private async applyRunEvent(
    m: EntityManager,
    tenantId: string,
    e: OlEvent,
    keys: Map<string, string>,
  ): Promise<void> {
    if (!e.runId || !e.job) return;
    const was = await this.repo.lockRun(m, tenantId, e.runId, e.job);
    const run: OlRunState = {
      ...was,
      parentRunId: e.parent?.runId ?? was.parentRunId,
      parentJobNamespace: e.parent?.namespace ?? was.parentJobNamespace,
      parentJobName: e.parent?.name ?? was.parentJobName,
      state: e.eventType ?? was.state,
      facets: mergeFacets(was.facets, e.runFacets),
      jobFacets: mergeFacets(was.jobFacets, e.job.facets),
      inputs: sumDatasets(was.inputs, e.inputs),
      outputs: sumDatasets(was.outputs, e.outputs),
    };
    await this.repo.saveRun(m, tenantId, run);
    if (e.eventType === 'COMPLETE' && run.outputs.length) await this.recordOutputs(m, tenantId, run, keys);
  }

  /**
   * One materialization per output dataset; the upstream refs are the run's inputs at their
   * latest versions (an input never materialized: its version facet, else FRAMED over its
   * namespace and name alone). The node is the run's job, under its parent run when it has one.
   */
  private async recordOutputs(
    m: EntityManager,
    tenantId: string,
    run: OlRunState,
    keys: Map<string, string>,
  ): Promise<void> {
    // Datasets an earlier event of the run named were mapped then: read their keys.
    const unknown = [...run.inputs, ...run.outputs].filter((d) => !keys.has(pairId(d.namespace, d.name)));
    for (const k of await this.repo.datasetKeys(m, tenantId, unknown))
      keys.set(pairId(k.namespace, k.name), k.assetKey);
    const keyOf = (d: OlRunDataset): string => {
      const k = keys.get(pairId(d.namespace, d.name));
      if (!k) throw new Error(`dataset ${d.namespace} ${d.name} has no asset key`);
      return k;
    };
    const outKeys = new Set(run.outputs.map(keyOf));
    const inputs = run.inputs.filter((d) => !outKeys.has(keyOf(d)));
    const latest = await this.repo.latestVersions(m, tenantId, inputs.map(keyOf));
    const upstreamAssets = inputs.map((d) => {
      const declared = datasetVersionOf(d.facets);
      const version =
        latest.get(keyOf(d)) ?? computeAssetVersion({ payload: declared ?? framed([d.namespace, d.name]) });
      return { assetKey: keyOf(d), version };
    });
    const node = `${run.jobNamespace}/${run.jobName}`.slice(0, 255);
    await this.materializations.record(
      tenantId,
      {
        jobId: run.runId,
        dagId: run.parentRunId ?? run.runId,
        nodeTaskId: node,
        assets: run.outputs.map((d) => ({
          assetKey: keyOf(d),
          version: olVersion(d.namespace, d.name, run.runId, d.facets),
          metadata: { openlineage: { namespace: d.namespace, name: d.name, runId: run.runId } },
        })),
        upstreamAssets,
      },
      { manager: m },
    );
  }

  /** The datasets behind these assets (those that came from OpenLineage), by asset key. */
  async datasetsOf(tenantId: string, assetKeys: readonly string[]): Promise<Map<string, OlDatasetKey>> {
    const found = await this.repo.datasetsOfAssets(this.ds, tenantId, assetKeys);
    return new Map(found.map((d) => [d.assetKey, d]));
  }

  /** The raw events stored for one run, oldest first. */
  eventsOfRun(tenantId: string, runId: string): Promise<unknown[]> {
    return this.repo.eventsOfRun(this.ds, tenantId, runId.toLowerCase());
  }
}
