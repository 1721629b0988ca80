import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import {
  ATTEMPT_OUTCOMES,
  DAG_STATES,
  enumOf,
  JOB_STATES,
  SLA_STATUSES,
  type AttemptOutcome as CoreAttemptOutcome,
  type DagState as CoreDagState,
  type JobState as CoreJobState,
  type SlaStatus as CoreSlaStatus,
} from '../core/states';
import { JSONScalar } from './scalars';
import { Connection } from './connection.type';

export const DagState = enumOf(DAG_STATES);
export type DagState = CoreDagState;
registerEnumType(DagState, { name: 'DagState' });

export const JobState = enumOf(JOB_STATES);
export type JobState = CoreJobState;
registerEnumType(JobState, { name: 'JobState' });

export const SlaStatus = enumOf(SLA_STATUSES);
export type SlaStatus = CoreSlaStatus;
registerEnumType(SlaStatus, { name: 'SlaStatus' });

export const AttemptOutcome = enumOf(ATTEMPT_OUTCOMES);
export type AttemptOutcome = CoreAttemptOutcome;
registerEnumType(AttemptOutcome, {
  name: 'AttemptOutcome',
  valuesConfig: {
    LOST: { description: "The worker's lease ran out (a crash): the same try ran again; not a failed attempt." },
    HANDED_BACK: {
      description: 'A worker stopping gracefully gave it back: the same try ran again; not a failed attempt.',
    },
    CACHED: {
      description: 'Completed from an earlier attempt with the same cache key, without calling the executor.',
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

  @Field(() => Int, { description: 'Completed from the cache, without an executor call (counted in completed too).' })
  cached!: number;

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

  @Field(() => Float, { description: "Seconds of executor time that cache hits saved (the sources' run times)." })
  savedSeconds!: number;
}

@ObjectType()
export class DagConnection extends Connection(Dag, 'Dag') {}

@ObjectType()
export class JobGroup {
  @Field(() => Int)
  level!: number;

  @Field(() => String)
  executor!: string;

  @Field(() => DagProgress)
  progress!: DagProgress;
}
