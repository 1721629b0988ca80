import { Field, Int, ObjectType } from 'type-graphql';
import { Materialization } from './materialization.type';
import { Connection } from './connection.type';
import { JSONScalar } from './scalars';

/** A tracked asset. Relation fields are resolved by AssetResolver. */
@ObjectType()
export class Asset {
  @Field(() => String)
  key!: string;

  @Field(() => String)
  namespace!: string;

  @Field(() => String, { nullable: true })
  kind!: string | null;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => JSONScalar, { nullable: true })
  tags!: unknown;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;
}

@ObjectType()
export class AssetConnection extends Connection(Asset, 'Asset') {}

@ObjectType()
export class Partition {
  @Field(() => String)
  key!: string;

  @Field(() => Materialization)
  latest!: Materialization;
}

@ObjectType()
export class PartitionConnection extends Connection(Partition, 'Partition') {}

@ObjectType({ description: "Per-asset activity over a window: the seed's dashboard and health-summary queries." })
export class AssetSummary {
  @Field(() => String)
  assetKey!: string;

  @Field(() => String, { nullable: true })
  kind!: string | null;

  @Field(() => Int)
  materializationCount!: number;

  @Field(() => Int)
  dagCount!: number;

  @Field(() => Date, { nullable: true })
  lastMaterializedAt!: Date | null;
}
