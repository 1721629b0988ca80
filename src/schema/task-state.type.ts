import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { JSONScalar } from './scalars';

@ObjectType()
export class TaskStateEntry {
  @Field(() => String)
  key!: string;

  @Field(() => JSONScalar, { nullable: true })
  value!: unknown;

  @Field(() => JSONScalar, { nullable: true })
  metadata!: Record<string, unknown> | null;

  @Field(() => Int)
  tryNumber!: number;

  @Field(() => Date)
  createdAt!: Date;
}

@InputType({ description: 'The job must be ACTIVE at that tryNumber, else CONFLICT.' })
export class SetTaskStateInput {
  @Field(() => ID)
  dagId!: string;

  @Field(() => String)
  taskId!: string;

  @Field(() => Int)
  tryNumber!: number;

  @Field(() => String)
  key!: string;

  @Field(() => JSONScalar)
  value!: unknown;

  @Field(() => JSONScalar, { nullable: true })
  metadata?: Record<string, unknown> | null;
}
