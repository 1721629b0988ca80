import { Field, Int, ObjectType } from 'type-graphql';
import { Materialization } from './materialization.type';
import { PageInfo } from './page-info.type';
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
export class AssetEdge {
  @Field(() => Asset)
  node!: Asset;

  @Field(() => String)
  cursor!: string;
}

@ObjectType()
export class AssetConnection {
  @Field(() => [AssetEdge])
  edges!: AssetEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

@ObjectType()
export class Partition {
  @Field(() => String)
  key!: string;

  @Field(() => Materialization)
  latest!: Materialization;
}

@ObjectType()
export class PartitionEdge {
  @Field(() => Partition)
  node!: Partition;

  @Field(() => String)
  cursor!: string;
}

@ObjectType()
export class PartitionConnection {
  @Field(() => [PartitionEdge])
  edges!: PartitionEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}

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
