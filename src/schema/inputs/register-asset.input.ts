import { Field, InputType } from 'type-graphql';
import { JSONScalar } from '../scalars';

@InputType()
export class RegisterAssetInput {
  @Field(() => String)
  key!: string;

  @Field(() => String, { nullable: true })
  kind?: string | null;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => JSONScalar, { nullable: true })
  tags?: unknown;
}
