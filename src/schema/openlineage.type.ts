import { Field, ObjectType } from 'type-graphql';

/** The OpenLineage dataset an asset stands for (DESIGN.md "OpenLineage"). */
@ObjectType()
export class OpenLineageDataset {
  @Field(() => String)
  namespace!: string;

  @Field(() => String)
  name!: string;
}
