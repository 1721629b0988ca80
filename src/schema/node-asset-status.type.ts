import { Field, Float, ID, ObjectType } from 'type-graphql';

/** What a DAG node was expected to produce and what it did (DESIGN.md "Node asset status"). */
@ObjectType()
export class NodeAssetStatus {
  @Field(() => ID)
  dagId!: string;

  @Field(() => String)
  nodeTaskId!: string;

  @Field(() => [String])
  expectedAssets!: string[];

  @Field(() => [String])
  requiredAssets!: string[];

  @Field(() => [String])
  materializedAssets!: string[];

  @Field(() => [String])
  missingRequiredAssets!: string[];

  @Field(() => Float)
  completionPercentage!: number;

  @Field(() => Boolean)
  isComplete!: boolean;
}
