/** The key of a DAG node in the node loaders: `${dagId}\u0000${nodeTaskId}`. */
export const nodeKey = (dagId: string, nodeTaskId: string): string => `${dagId}\u0000${nodeTaskId}`;

export function splitNodeKey(key: string): { dagId: string; nodeTaskId: string } {
  const i = key.indexOf('\u0000');
  if (i < 0) throw new Error(`not a node key: ${key}`);
  return { dagId: key.slice(0, i), nodeTaskId: key.slice(i + 1) };
}
