import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class Gpu {
  @Field(() => Int)
  index!: number;

  @Field(() => String)
  name!: string;

  @Field(() => Int)
  memoryTotalMiB!: number;

  @Field(() => Int, { nullable: true })
  memoryUsedMiB!: number | null;

  @Field(() => Int, { nullable: true })
  utilizationPercent!: number | null;
}

@ObjectType()
export class Worker {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  hostname!: string;

  @Field(() => [String])
  executors!: string[];

  @Field(() => [Gpu])
  gpus!: Gpu[];

  @Field(() => Int, { description: 'Summed over its executors.' })
  concurrency!: number;

  @Field(() => Int)
  activeJobs!: number;

  @Field(() => Date)
  lastSeenAt!: Date;

  @Field(() => Boolean)
  healthy!: boolean;
}

@ObjectType({
  description:
    "From Postgres, the caller's jobs: waiting = ready CREATED; delayed = RETRY, and CREATED with a future startAfter; failed = FAILED + EXPIRED.",
})
export class QueueStats {
  @Field(() => String)
  executor!: string;

  @Field(() => Int)
  waiting!: number;

  @Field(() => Int)
  active!: number;

  @Field(() => Int)
  delayed!: number;

  @Field(() => Int)
  failed!: number;

  @Field(() => Int)
  completed!: number;

  @Field(() => Int, { description: 'Ready but held back by a quota, a concurrency key or a rate limit.' })
  throttled!: number;

  @Field(() => Int, {
    description: 'Live, healthy workers that host this executor now: 0 means its jobs cannot run.',
  })
  workers!: number;
}
