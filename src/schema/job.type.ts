import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { AttemptOutcome, JobState } from './dag.type';
import { JSONScalar } from './scalars';
import { Connection } from './connection.type';

@ObjectType()
export class CachedFrom {
  @Field(() => ID)
  dagId!: string;

  @Field(() => String)
  taskId!: string;

  @Field(() => Int)
  tryNumber!: number;
}

@ObjectType()
export class JobAttempt {
  @Field(() => Int)
  tryNumber!: number;

  @Field(() => AttemptOutcome)
  outcome!: AttemptOutcome;

  @Field(() => String, { nullable: true })
  workerId!: string | null;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => CachedFrom, { nullable: true, description: 'For a CACHED attempt: the attempt whose result it took.' })
  cachedFrom!: CachedFrom | null;
}

@ObjectType()
export class Job {
  @Field(() => ID, { description: 'Globally unique (opaque).' })
  id!: string;

  @Field(() => String, {
    description:
      "The id given at submission, unique within its DAG: the node's task id in asset tracking and in the task state store.",
  })
  taskId!: string;

  @Field(() => ID)
  dagId!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String)
  executor!: string;

  @Field(() => Int)
  priority!: number;

  @Field(() => JSONScalar, { nullable: true })
  data!: unknown;

  @Field(() => JobState)
  state!: JobState;

  @Field(() => Int)
  jobLevel!: number;

  @Field(() => Int)
  tryNumber!: number;

  @Field(() => Int)
  retryLimit!: number;

  @Field(() => Int)
  retryDelay!: number;

  @Field(() => Boolean)
  retryBackoff!: boolean;

  @Field(() => Date, { nullable: true })
  startAfter!: Date | null;

  @Field(() => Int, { nullable: true })
  expireInSeconds!: number | null;

  @Field(() => Date, { nullable: true })
  keepUntil!: Date | null;

  @Field(() => Date, { nullable: true })
  softSla!: Date | null;

  @Field(() => Date, { nullable: true })
  hardSla!: Date | null;

  @Field(() => Boolean)
  requiresGpu!: boolean;

  @Field(() => String, { nullable: true })
  partitionKey!: string | null;

  @Field(() => String, { nullable: true })
  concurrencyKey!: string | null;

  @Field(() => Int, { nullable: true })
  concurrencyLimit!: number | null;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  startedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  completedAt!: Date | null;

  @Field(() => JSONScalar, { nullable: true })
  output!: unknown;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => Float, {
    nullable: true,
    description: 'What the executor last reported of the running attempt, 0 to 100.',
  })
  progressPercent!: number | null;

  @Field(() => String, { nullable: true })
  progressMessage!: string | null;

  @Field(() => String, { nullable: true, description: 'The cache key of its latest attempt, when caching is on.' })
  cacheKey!: string | null;
}

@ObjectType()
export class JobConnection extends Connection(Job, 'Job') {}
