import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { DagProgress, DagState, JobState, SlaStatus } from './dag.type';
import { NodeAssetStatus } from './node-asset-status.type';

const CURSOR_DOC = "Position in the tenant's event log: pass it as `after` to resume from here after a reconnect.";

/**
 * The event objects are built once per logged event (in the process's tenant listener)
 * and shared by every subscriber. The relation fields (`dag`, `job`, `materialization`)
 * are field resolvers in src/resolvers/event.resolver.ts.
 */
@ObjectType()
export class DagEvent {
  @Field(() => String, { description: CURSOR_DOC })
  cursor!: string;

  @Field(() => ID)
  dagId!: string;

  @Field(() => DagState)
  state!: DagState;

  @Field(() => DagState, { nullable: true })
  previousState!: DagState | null;

  @Field(() => DagProgress)
  progress!: DagProgress;

  @Field(() => Date)
  at!: Date;

  /** Not a field: the DAG's name, for `dagCompleted(name:)`. */
  name!: string;
}

@ObjectType()
export class JobEvent {
  @Field(() => String, { description: CURSOR_DOC })
  cursor!: string;

  @Field(() => ID)
  dagId!: string;

  @Field(() => String)
  taskId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => JobState)
  state!: JobState;

  @Field(() => JobState, { nullable: true })
  previousState!: JobState | null;

  @Field(() => Int)
  tryNumber!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => Float, { nullable: true })
  progressPercent!: number | null;

  @Field(() => Date)
  at!: Date;
}

@ObjectType()
export class AssetMaterializedEvent {
  @Field(() => String, { description: CURSOR_DOC })
  cursor!: string;

  @Field(() => String)
  assetKey!: string;

  @Field(() => Date)
  at!: Date;

  /** Not a field: the id behind `materialization`. */
  materializationId!: string;
}

@ObjectType()
export class IncompleteAssetsEvent {
  @Field(() => String, { description: CURSOR_DOC })
  cursor!: string;

  @Field(() => ID)
  dagId!: string;

  @Field(() => [NodeAssetStatus])
  incompleteNodes!: NodeAssetStatus[];

  @Field(() => Date)
  at!: Date;
}

@ObjectType()
export class SlaEvent {
  @Field(() => String, { description: CURSOR_DOC })
  cursor!: string;

  @Field(() => ID)
  dagId!: string;

  @Field(() => String, { nullable: true, description: "The job whose own SLA was missed; null for the DAG's SLA." })
  taskId!: string | null;

  @Field(() => SlaStatus)
  kind!: SlaStatus;

  @Field(() => Date)
  deadline!: Date;

  @Field(() => Date)
  at!: Date;
}

export type EventView = DagEvent | JobEvent | AssetMaterializedEvent | IncompleteAssetsEvent | SlaEvent;
