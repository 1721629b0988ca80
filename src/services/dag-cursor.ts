import { badInput } from '../errors/domain-error';

/** The `dags` connection's opaque cursor: base64url of `[created_at ISO, id]`. */
export const encodeDagCursor = (d: { created_at: Date; id: string }): string =>
  Buffer.from(JSON.stringify([d.created_at.toISOString(), d.id])).toString('base64url');

const DAG_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/** A cursor `encodeDagCursor` gave, else BAD_USER_INPUT (never a value Postgres would refuse). */
export function decodeDagCursor(cursor: string, field = 'after'): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
      const [at, id] = v as [string, string];
      const time = new Date(at);
      if (!Number.isNaN(time.getTime()) && time.toISOString() === at && DAG_ID.test(id)) return [at, id];
    }
  } catch {
    /* fall through */
  }
  throw badInput(field, 'is not a cursor this API gave');
}
