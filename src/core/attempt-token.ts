import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Attempt tokens (DESIGN.md, "Remote executors"): `mat_<payload>.<signature>`, payload the
 * base64url of JSON `{ t, j, n, d, x }`, signature the base64url HMAC-SHA256 of the payload
 * text with the secret. Pure: no I/O; the clock is an argument.
 */
export interface AttemptTokenClaims {
  /** Tenant id. */
  t: string;
  /** The global Job.id. */
  j: string;
  /** The try number. */
  n: number;
  /** The dispatch of that try. */
  d: number;
  /** Expiry, in epoch SECONDS (whole): the token is refused from that second on. */
  x: number;
}

export const ATTEMPT_TOKEN_PREFIX = 'mat_';
/** Longer tokens are refused before any work (ids are UUIDs or short strings). */
export const ATTEMPT_TOKEN_MAX_LENGTH = 1024;

const B64URL = /^[A-Za-z0-9_-]+$/;

const sign = (payload: string, secret: string): Buffer => createHmac('sha256', secret).update(payload, 'utf8').digest();

export function isAttemptToken(value: string): boolean {
  return value.startsWith(ATTEMPT_TOKEN_PREFIX);
}

/** The token for `claims`, signed with `secret`. */
export function signAttemptToken(claims: AttemptTokenClaims, secret: string): string {
  if (!secret) throw new Error('an attempt token needs a secret');
  const payload = Buffer.from(
    JSON.stringify({ t: claims.t, j: claims.j, n: claims.n, d: claims.d, x: Math.floor(claims.x) }),
    'utf8',
  ).toString('base64url');
  return `${ATTEMPT_TOKEN_PREFIX}${payload}.${sign(payload, secret).toString('base64url')}`;
}

const validClaims = (c: unknown): c is AttemptTokenClaims => {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return false;
  const o = c as Record<string, unknown>;
  return (
    typeof o.t === 'string' &&
    o.t.length > 0 &&
    typeof o.j === 'string' &&
    o.j.length > 0 &&
    Number.isSafeInteger(o.n) &&
    (o.n as number) >= 0 &&
    Number.isSafeInteger(o.d) &&
    (o.d as number) >= 0 &&
    Number.isSafeInteger(o.x)
  );
};

/**
 * The claims of a well-formed token signed with `secret` that has not expired at `nowMs`,
 * else null (malformed, tampered, signed with another secret, expired). The signature is
 * compared in constant time before the payload is parsed.
 */
export function verifyAttemptToken(
  token: string,
  secret: string,
  nowMs: number = Date.now(),
): AttemptTokenClaims | null {
  if (!secret || typeof token !== 'string' || token.length > ATTEMPT_TOKEN_MAX_LENGTH) return null;
  if (!isAttemptToken(token)) return null;
  const body = token.slice(ATTEMPT_TOKEN_PREFIX.length);
  const dot = body.indexOf('.');
  if (dot <= 0 || dot !== body.lastIndexOf('.')) return null;
  const payload = body.slice(0, dot);
  const signature = body.slice(dot + 1);
  if (!B64URL.test(payload) || !B64URL.test(signature)) return null;
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(payload, secret);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!validClaims(claims)) return null;
  if (claims.x * 1000 <= nowMs) return null;
  return { t: claims.t, j: claims.j, n: claims.n, d: claims.d, x: claims.x };
}
