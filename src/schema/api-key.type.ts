import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import { MaxLength, MinLength } from 'class-validator';

export enum Role {
  READER = 'reader',
  SUBMITTER = 'submitter',
  EXECUTOR = 'executor',
  ADMIN = 'admin',
}
registerEnumType(Role, { name: 'Role' });

@ObjectType()
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => Date, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String)
  key!: string;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => String)
  @MinLength(1)
  @MaxLength(128)
  name!: string;

  @Field(() => Role)
  role!: Role;
}

@ObjectType({ description: 'The caller: its key, tenant and role, and what that role may do.' })
export class Viewer {
  @Field(() => String, { description: "The calling key's name." })
  keyName!: string;

  @Field(() => String, { description: "The tenant's slug." })
  tenant!: string;

  @Field(() => Role)
  role!: Role;

  @Field(() => [String], {
    description:
      'The actions its role allows (read, subscribe, dag.submit, dag.cancel, dag.retry, …): what a client may offer.',
  })
  allowed!: string[];
}
