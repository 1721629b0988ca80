/**
 * The API key of an `Authorization: Bearer <key>` value (an HTTP header, a REST call's
 * header, or graphql-ws `connectionParams.authorization`), else null. One parser for the
 * three doors, so they accept exactly the same values.
 */
export function bearer(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const m = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return m ? m[1] : null;
}
