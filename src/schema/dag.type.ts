import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from './scalars';
import { PageInfo } from './page-info.type';

export enum DagState {
  CREATED = 'CREATED',
  ACTIVE = 'ACTIVE',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(DagState, { name: 'DagState' });

export enum JobState {
  CREATED = 'CREATED',
  RETRY = 'RETRY',
  ACTIVE = 'ACTIVE',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  EXPIRED = 'EXPIRED',
  CANCELLED = 'CANCELLED',
  SKIPPED = 'SKIPPED',
}
registerEnumType(JobState, { name: 'JobState' });

export enum SlaStatus {
  NONE = 'NONE',
  ON_TRACK = 'ON_TRACK',
  SOFT_MISSED = 'SOFT_MISSED',
  HARD_MISSED = 'HARD_MISSED',
  MET = 'MET',
}
registerEnumType(SlaStatus, { name: 'SlaStatus' });

export enum AttemptOutcome {
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  EXPIRED = 'EXPIRED',
  CANCELLED = 'CANCELLED',
  LOST = 'LOST',
  HANDED_BACK = 'HANDED_BACK',
}
registerEnumType(AttemptOutcome, {
  name: 'AttemptOutcome',
  valuesConfig: {
    LOST: { description: "The worker's lease ran out (a crash): the same try ran again; not a failed attempt." },
    HANDED_BACK: {
      description: 'A worker stopping gracefully gave it back: the same try ran again; not a failed attempt.',
    },
  },
});

@ObjectType({ description: 'Counters as they stood when the DAG (or the event) was read.' })
export class DagProgress {
  @Field(() => Int)
  total!: number;

  @Field(() => Int)
  pending!: number;

  @Field(() => Int)
  active!: number;

  @Field(() => Int)
  completed!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Int)
  skipped!: number;

  @Field(() => Float, { description: 'Jobs in terminal states over all jobs, 0 to 100.' })
  percent!: number;
}

@ObjectType()
export class CallbackStatus {
  @Field(() => String)
  url!: string;

  @Field(() => String, { description: 'PENDING, DELIVERED or FAILED (retries exhausted).' })
  state!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field(() => Date, { nullable: true })
  deliveredAt!: Date | null;
}

@ObjectType()
export class Dag {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => DagState)
  state!: DagState;

  @Field(() => JSONScalar, { nullable: true })
  metadata!: unknown;

  @Field(() => Date, { nullable: true })
  softSla!: Date | null;

  @Field(() => Date, { nullable: true })
  hardSla!: Date | null;

  @Field(() => SlaStatus)
  slaStatus!: SlaStatus;

  @Field(() => String, { nullable: true, description: 'The API key (its name) that submitted it.' })
  submittedBy!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  completedAt!: Date | null;

  @Field(() => CallbackStatus, { nullable: true })
  callback!: CallbackStatus | null;

  @Field(() => DagProgress)
  progress!: DagProgress;
}

@ObjectType()
export class DagEdge {
  @Field(() => Dag)
  node!: Dag;

  @Field(() => String)
  cursor!: string;
}

@ObjectType()
export class DagConnection {
  @Field(() => [DagEdge])
  edges!: DagEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}
