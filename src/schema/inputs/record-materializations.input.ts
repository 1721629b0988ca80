import { Field, ID, InputType, Int } from 'type-graphql';
import { BigIntScalar, JSONScalar } from '../scalars';

@InputType()
export class UpstreamAssetInput {
  @Field(() => String)
  assetKey!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String, { nullable: true })
  partitionKey?: string | null;
}

@InputType()
export class MaterializationInput {
  @Field(() => String)
  assetKey!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String, { nullable: true })
  kind?: string | null;

  @Field(() => BigIntScalar, { nullable: true })
  sizeBytes?: string | null;

  @Field(() => String, { nullable: true })
  checksum?: string | null;

  @Field(() => String, { nullable: true })
  uri?: string | null;

  @Field(() => JSONScalar, { nullable: true })
  metadata?: unknown;

  @Field(() => String, { nullable: true })
  partitionKey?: string | null;

  @Field(() => String, { nullable: true })
  codeFingerprint?: string | null;

  @Field(() => String, { nullable: true })
  promptFingerprint?: string | null;
}

@InputType()
export class RecordMaterializationsInput {
  @Field(() => String, { nullable: true })
  storageEventId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "For this project's workers: the Job.id. Outside systems may send any reference.",
  })
  jobId?: string | null;

  @Field(() => Int, {
    nullable: true,
    description:
      "With a dagId and nodeTaskId of one of this control plane's DAGs, the current ACTIVE attempt must be named, by tryNumber or jobId (else CONFLICT).",
  })
  tryNumber?: number | null;

  @Field(() => ID, { nullable: true })
  dagId?: string | null;

  @Field(() => String, { nullable: true })
  nodeTaskId?: string | null;

  @Field(() => String, { nullable: true })
  partitionKey?: string | null;

  @Field(() => [MaterializationInput])
  assets!: MaterializationInput[];

  @Field(() => [UpstreamAssetInput], { nullable: true, defaultValue: [] })
  upstreamAssets?: UpstreamAssetInput[] | null;
}
