import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType()
export class UpstreamAsset {
  @Field(() => String)
  assetKey!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String, { nullable: true })
  partitionKey!: string | null;

  @Field(() => String, { nullable: true })
  uri!: string | null;

  @Field(() => String)
  nodeTaskId!: string;
}

@ObjectType({ description: "What an attempt token's holder (a remote executor) is running." })
export class AttemptContext {
  @Field(() => ID)
  dagId!: string;

  @Field(() => String)
  dagName!: string;

  @Field(() => ID)
  jobId!: string;

  @Field(() => String)
  taskId!: string;

  @Field(() => Int)
  tryNumber!: number;

  @Field(() => String, { nullable: true })
  partitionKey!: string | null;

  @Field(() => String)
  endpoint!: string;

  @Field(() => Date, { nullable: true })
  deadline!: Date | null;

  @Field(() => Boolean, { description: 'True once the job was cancelled: stop, nothing more will be accepted.' })
  cancelled!: boolean;

  @Field(() => [UpstreamAsset], { description: 'The latest materializations its upstream nodes recorded in this DAG.' })
  upstream!: UpstreamAsset[];
}
