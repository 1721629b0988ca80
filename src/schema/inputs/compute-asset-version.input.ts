import { Field, InputType, registerEnumType } from 'type-graphql';

export enum VersionScheme {
  FRAMED = 'FRAMED',
  MARIE_COMPAT = 'MARIE_COMPAT',
}
registerEnumType(VersionScheme, {
  name: 'VersionScheme',
  valuesConfig: {
    FRAMED: { description: 'Length-framed fields: unambiguous. The default.' },
    MARIE_COMPAT: {
      description: 'Byte-identical to the Python Marie-AI AssetTracker.compute_asset_version, for mixed fleets.',
    },
  },
});

@InputType()
export class ComputeAssetVersionInput {
  @Field(() => VersionScheme, { nullable: true, defaultValue: VersionScheme.FRAMED })
  scheme?: VersionScheme;

  @Field(() => String, { description: 'Base64 of the payload bytes.' })
  payloadBase64!: string;

  @Field(() => String, { nullable: true })
  codeFingerprint?: string | null;

  @Field(() => String, { nullable: true })
  promptFingerprint?: string | null;

  @Field(() => [String], { nullable: true, defaultValue: [] })
  upstreamVersions?: string[] | null;
}
