import { Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { PageInfo } from './page-info.type';

/** One edge of a connection: a node and the opaque cursor after which the next page starts. */
export interface EdgeShape<T> {
  node: T;
  cursor: string;
}

/** The fields every connection has. */
export interface ConnectionShape<T> {
  edges: Array<EdgeShape<T>>;
  pageInfo: PageInfo;
  totalCount: number;
}

/**
 * A Relay connection over `node` (type-graphql's generic types): registers the object type
 * `<name>Edge` and returns the abstract base that `<name>Connection` extends, so every list
 * of the API pages with one shape (lib/pagination.ts builds its values).
 */
export function Connection<T extends object>(node: ClassType<T>, name: string): abstract new () => ConnectionShape<T> {
  @ObjectType(`${name}Edge`)
  class Edge implements EdgeShape<T> {
    @Field(() => node)
    node!: T;

    @Field(() => String)
    cursor!: string;
  }

  // Named per node but never referenced: only the subclass reaches the schema.
  @ObjectType(`${name}ConnectionFields`)
  abstract class ConnectionBase implements ConnectionShape<T> {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int)
    totalCount!: number;
  }
  return ConnectionBase;
}
