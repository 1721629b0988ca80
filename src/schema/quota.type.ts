import { Field, Float, Int, ObjectType } from 'type-graphql';
import { JSONScalar } from './scalars/json.scalar';

@ObjectType()
export class RateLimit {
  @Field(() => String)
  executor!: string;

  @Field(() => Int)
  jobs!: number;

  @Field(() => Int)
  perSeconds!: number;
}

@ObjectType()
export class ThrottleCount {
  @Field(() => String)
  cause!: string;

  @Field(() => String, { nullable: true })
  executor!: string | null;

  @Field(() => String, { nullable: true })
  concurrencyKey!: string | null;

  @Field(() => Int)
  jobs!: number;
}

@ObjectType({ description: "The caller's tenant: its fair-share policy and where it stands." })
export class TenantQuota {
  @Field(() => Float)
  weight!: number;

  @Field(() => Int, { nullable: true })
  maxActiveJobs!: number | null;

  @Field(() => JSONScalar, { nullable: true })
  maxActiveJobsPerExecutor!: Record<string, number>;

  @Field(() => [RateLimit])
  rateLimits!: RateLimit[];

  @Field(() => Int)
  activeJobs!: number;

  @Field(() => [ThrottleCount], {
    description: 'Jobs held back now, per cause: MAX_ACTIVE, EXECUTOR_CAP, CONCURRENCY_KEY, RATE_LIMIT.',
  })
  throttled!: ThrottleCount[];
}
