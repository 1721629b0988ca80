import { Field, ID, InputType, Int } from 'type-graphql';
import { JSONScalar } from '../scalars';
import { AssetExpectationInput } from './asset-expectation.input';

@InputType()
export class CachePolicyInput {
  @Field(() => Boolean, { nullable: true, defaultValue: true })
  enabled?: boolean | null;

  @Field(() => Int, { nullable: true, description: 'How old a cached result may be; 7 days when absent.' })
  ttlSeconds?: number | null;

  @Field(() => String, { nullable: true, description: "A key of the caller's choosing, instead of the computed one." })
  key?: string | null;
}

@InputType()
export class JobInput {
  @Field(() => ID, { description: 'Unique within the DAG (e.g. "ocr_extractor"); dependencies name these ids.' })
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  executor?: string | null;

  @Field(() => Int, { nullable: true, defaultValue: 0 })
  priority?: number | null;

  @Field(() => JSONScalar, { nullable: true })
  data?: unknown;

  @Field(() => [ID], { nullable: true, defaultValue: [] })
  dependencies?: string[] | null;

  @Field(() => Int, { nullable: true })
  jobLevel?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: 0 })
  retryLimit?: number | null;

  @Field(() => Int, { nullable: true, defaultValue: 0 })
  retryDelay?: number | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false })
  retryBackoff?: boolean | null;

  @Field(() => Date, { nullable: true })
  startAfter?: Date | null;

  @Field(() => Int, { nullable: true })
  expireInSeconds?: number | null;

  @Field(() => Date, { nullable: true })
  keepUntil?: Date | null;

  @Field(() => Date, { nullable: true })
  softSla?: Date | null;

  @Field(() => Date, { nullable: true })
  hardSla?: Date | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false })
  requiresGpu?: boolean | null;

  @Field(() => String, { nullable: true })
  partitionKey?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'At most concurrencyLimit jobs of the tenant with this key are ACTIVE at once.',
  })
  concurrencyKey?: string | null;

  @Field(() => Int, { nullable: true })
  concurrencyLimit?: number | null;

  @Field(() => [AssetExpectationInput], { nullable: true, defaultValue: [] })
  assets?: AssetExpectationInput[] | null;

  @Field(() => CachePolicyInput, { nullable: true, description: "Overrides the DAG's cache policy for this job." })
  cache?: CachePolicyInput | null;
}

@InputType()
export class SubmitDagInput {
  @Field(() => ID, {
    nullable: true,
    description: 'Client-chosen id; submitting the same id again with the same jobs returns the existing DAG.',
  })
  id?: string | null;

  @Field(() => String)
  name!: string;

  @Field(() => JSONScalar, { nullable: true })
  metadata?: unknown;

  @Field(() => Date, { nullable: true })
  softSla?: Date | null;

  @Field(() => Date, { nullable: true })
  hardSla?: Date | null;

  @Field(() => String, {
    nullable: true,
    description: "Called with the DAG's final state when it reaches one (POST, JSON body, retried).",
  })
  callbackUrl?: string | null;

  @Field(() => CachePolicyInput, {
    nullable: true,
    description: 'The default cache policy of its jobs (off when absent).',
  })
  cache?: CachePolicyInput | null;

  @Field(() => [JobInput])
  jobs!: JobInput[];
}
