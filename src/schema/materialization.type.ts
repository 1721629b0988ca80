import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { Connection } from './connection.type';
import { BigIntScalar, JSONScalar } from './scalars';

export enum StaleCause {
  UPSTREAM_CHANGED = 'UPSTREAM_CHANGED',
  UPSTREAM_STALE = 'UPSTREAM_STALE',
  CODE_CHANGED = 'CODE_CHANGED',
}
registerEnumType(StaleCause, {
  name: 'StaleCause',
  valuesConfig: {
    UPSTREAM_CHANGED: { description: "An input's latest version is not the one this materialization used." },
    UPSTREAM_STALE: { description: 'An input is itself stale (the cause is further upstream).' },
    CODE_CHANGED: {
      description: 'A newer materialization of this asset was made with another code or prompt fingerprint.',
    },
  },
});

/** One immutable materialization of an asset. Relation fields are resolved by MaterializationResolver. */
@ObjectType()
export class Materialization {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  assetKey!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String, { nullable: true })
  partitionKey!: string | null;

  @Field(() => String, { nullable: true })
  jobId!: string | null;

  @Field(() => ID, { nullable: true })
  dagId!: string | null;

  @Field(() => String, { nullable: true })
  nodeTaskId!: string | null;

  @Field(() => String, { nullable: true })
  storageEventId!: string | null;

  @Field(() => String, { nullable: true })
  kind!: string | null;

  @Field(() => BigIntScalar, { nullable: true })
  sizeBytes!: string | null;

  @Field(() => String, { nullable: true })
  checksum!: string | null;

  @Field(() => String, { nullable: true })
  uri!: string | null;

  @Field(() => JSONScalar, { nullable: true })
  metadata!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true })
  codeFingerprint!: string | null;

  @Field(() => String, { nullable: true })
  promptFingerprint!: string | null;

  @Field(() => Date)
  createdAt!: Date;

  /** Not in the contract: kept for the DAG engine and debugging. */
  tryNumber?: number | null;
}

@ObjectType()
export class LineageRef {
  @Field(() => String)
  assetKey!: string;

  @Field(() => String)
  version!: string;

  @Field(() => String, { nullable: true })
  partitionKey!: string | null;

  @Field(() => Materialization, {
    nullable: true,
    description: 'The materialization that produced that version, when it was recorded here.',
  })
  materialization!: Materialization | null;
}

@ObjectType()
export class StaleReason {
  @Field(() => StaleCause)
  cause!: StaleCause;

  @Field(() => String, {
    description: 'The asset the cause is about: the input that moved on, or this asset for CODE_CHANGED.',
  })
  assetKey!: string;

  @Field(() => String, { nullable: true })
  usedVersion!: string | null;

  @Field(() => String, { nullable: true })
  latestVersion!: string | null;
}

@ObjectType()
export class MaterializationConnection extends Connection(Materialization, 'Materialization') {}

@ObjectType()
export class RecordMaterializationsPayload {
  @Field(() => [Materialization])
  materializations!: Materialization[];

  @Field(() => Int, {
    description: 'How many of them were already recorded (an idempotent replay) and not written again.',
  })
  alreadyRecorded!: number;
}
