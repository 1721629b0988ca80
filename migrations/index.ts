import { Foundation1763840000000 } from './1763840000000-foundation';
import { Assets1763841000000 } from './1763841000000-assets';
import { DagEngine1763842000000 } from './1763842000000-dag-engine';
import { TaskState1763843000000 } from './1763843000000-task-state';
import { EventTrimMark1763845000000 } from './1763845000000-event-trim-mark';
import { WorkerExecutorSlots1763846140000 } from './1763846140000-worker-executor-slots';
import { OpenLineage1763847000000 } from './1763847000000-openlineage';
import { MemoisedExecution1763847100000 } from './1763847100000-memoised-execution';
import { FairShare1763847200000 } from './1763847200000-fair-share';
import { OpenLineageEmit1763847300000 } from './1763847300000-openlineage-emit';
import { AssetGraphChanges1763847450000 } from './1763847450000-asset-graph-changes';
import { CacheCounters1763847500000 } from './1763847500000-cache-counters';
import { DagProgressDeltas1763847600000 } from './1763847600000-dag-progress-deltas';
import { EventLogCoalesced1763847700000 } from './1763847700000-event-log-coalesced';
import { TransitionCost1763847800000 } from './1763847800000-transition-cost';

/** Every migration, oldest first. Never edit one that has landed: add a new one. */
export const MIGRATIONS = [
  Foundation1763840000000,
  Assets1763841000000,
  DagEngine1763842000000,
  TaskState1763843000000,
  EventTrimMark1763845000000,
  WorkerExecutorSlots1763846140000,
  OpenLineage1763847000000,
  MemoisedExecution1763847100000,
  FairShare1763847200000,
  OpenLineageEmit1763847300000,
  AssetGraphChanges1763847450000,
  CacheCounters1763847500000,
  DagProgressDeltas1763847600000,
  EventLogCoalesced1763847700000,
  TransitionCost1763847800000,
];
