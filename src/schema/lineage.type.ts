import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import { LineageRef } from './materialization.type';
import { PageInfo } from './page-info.type';

export enum LineageDirection {
  UPSTREAM = 'UPSTREAM',
  DOWNSTREAM = 'DOWNSTREAM',
  BOTH = 'BOTH',
}
registerEnumType(LineageDirection, { name: 'LineageDirection' });

@ObjectType({ simpleResolvers: true })
export class LineageNode {
  @Field(() => String)
  assetKey!: string;

  @Field(() => Int, { description: 'Hops from the root: negative upstream, positive downstream, 0 the root.' })
  distance!: number;
}

@ObjectType({ simpleResolvers: true })
export class LineageEdge {
  @Field(() => String)
  fromAssetKey!: string;

  @Field(() => String)
  toAssetKey!: string;
}

@ObjectType()
export class LineageGraph {
  @Field(() => String)
  assetKey!: string;

  @Field(() => LineageDirection)
  direction!: LineageDirection;

  @Field(() => Int)
  depth!: number;

  @Field(() => [LineageNode])
  nodes!: LineageNode[];

  @Field(() => [LineageEdge])
  edges!: LineageEdge[];

  @Field(() => [LineageRef], {
    description:
      'Direct upstream inputs of the root (with the versions its latest materialization used), whatever the direction.',
  })
  upstream!: LineageRef[];

  @Field(() => [String], {
    description: 'Keys of every asset downstream of the root within depth, whatever the direction.',
  })
  downstream!: string[];

  @Field(() => Boolean, {
    description:
      'True when one more hop would find an asset not yet seen, or the node cap (10,000 by default) stopped the walk.',
  })
  truncated!: boolean;

  @Field(() => Int, { description: 'Every node within depth (the root included), whatever the page.' })
  totalNodes!: number;

  @Field(() => PageInfo, {
    description:
      "Nodes are paged in order of |distance|, then key; each page's edges join its nodes to each other and to nodes of earlier pages.",
  })
  pageInfo!: PageInfo;
}

@ObjectType()
export class ImpactReport {
  @Field(() => String)
  assetKey!: string;

  @Field(() => [String], { description: 'Every transitive downstream asset.' })
  downstreamAssets!: string[];

  @Field(() => Int)
  downstreamCount!: number;

  @Field(() => Int, { description: "Distinct jobs and DAGs among the asset's materializations of the last 24 hours." })
  recentJobCount!: number;

  @Field(() => Int)
  recentDagCount!: number;

  @Field(() => Int, {
    description:
      'The latest materializations of each transitive downstream (asset, partition) that are not stale yet and would become stale with a new version of this asset.',
  })
  affectedMaterializations!: number;
}
