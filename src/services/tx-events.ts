import type { DagState } from '../core/states';
import type { TxHandlers } from '../core/tx-handlers';
import type { MaterializationView } from './assets/asset-views';
import type { NormalizedDag } from './dag-validation';
import type { RecordMaterializationsArgs } from './assets/record-materializations.input';

/**
 * The in-transaction events of the services and their payloads: the service that makes
 * the change runs the handlers inside its transaction; the code that reacts registers them.
 */
export interface TxEvents {
  /** submitDag stored a new DAG (e.g. → its nodes' asset expectations). */
  'dag.submitted': { tenantId: string; dagId: string; dag: NormalizedDag };
  /** A DAG ended COMPLETED or FAILED, not when cancelled (e.g. → the incomplete-assets check). */
  'dag.finished': { tenantId: string; dagId: string; state: DagState };
  /** Materializations are about to be recorded (e.g. → the recording fence, which may refuse). */
  'materializations.recording': { tenantId: string; input: RecordMaterializationsArgs };
  /** Materializations were recorded (e.g. → their ASSET_MATERIALIZED events). */
  'materializations.recorded': { tenantId: string; created: MaterializationView[] };
}

/** The registry of in-transaction handlers, one per process, built in app/container.ts. */
export type ServiceTxHandlers = TxHandlers<TxEvents>;
