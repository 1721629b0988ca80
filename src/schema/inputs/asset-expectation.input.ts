import { Field, InputType } from 'type-graphql';

/** An asset a DAG node is expected to produce (JobInput.assets). */
@InputType()
export class AssetExpectationInput {
  @Field(() => String)
  key!: string;

  @Field(() => String, { nullable: true })
  kind?: string | null;

  @Field(() => Boolean, { nullable: true, defaultValue: false })
  isPrimary?: boolean;

  @Field(() => Boolean, { nullable: true, defaultValue: true })
  isRequired?: boolean;
}
