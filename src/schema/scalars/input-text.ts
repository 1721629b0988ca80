/**
 * What every string and JSON input must be before anything stores it: text PostgreSQL can
 * hold (no NUL character), well-formed Unicode (no lone UTF-16 surrogate) and, for JSON,
 * nested at most MAX_JSON_DEPTH levels. One walk, iterative, so no input is deep enough to
 * overflow the stack while it is checked.
 */

/** The deepest a JSON input may nest (objects and arrays); deeper is BAD_USER_INPUT. */
export const MAX_JSON_DEPTH = 64;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `text` cannot be stored as given, or null when it can. */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'holds a NUL character (\\u0000), which cannot be stored';
  if (LONE_SURROGATE.test(text)) return 'holds a lone UTF-16 surrogate, which is not valid Unicode';
  return null;
}

export interface InputProblem {
  /** Where, from `root` (`input.jobs[0].data.rows[3]`). */
  path: string;
  reason: string;
}

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A path segment for an object key, printable whatever the key holds. */
export const keySegment = (key: string): string =>
  SIMPLE_KEY.test(key) ? `.${key}` : `[${JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key)}]`;

/**
 * The first string, object key or nesting in `value` that cannot be stored, or null.
 * Objects and arrays count one level each; `maxDepth` of them nested is the most allowed.
 */
export function findInputProblem(value: unknown, root: string, maxDepth = MAX_JSON_DEPTH): InputProblem | null {
  const stack: Array<[unknown, string, number]> = [[value, root, 0]];
  while (stack.length > 0) {
    const [v, path, depth] = stack.pop()!;
    if (typeof v === 'string') {
      const reason = textProblem(v);
      if (reason) return { path, reason };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return { path, reason: `nests deeper than ${maxDepth} levels of objects and lists` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i -= 1) stack.push([v[i], `${path}[${i}]`, depth + 1]);
      continue;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    for (let i = entries.length - 1; i >= 0; i -= 1) {
      const [k, x] = entries[i];
      const keyReason = textProblem(k);
      if (keyReason) return { path: `${path}${keySegment(k)}`, reason: `its key ${keyReason}` };
      stack.push([x, `${path}${keySegment(k)}`, depth + 1]);
    }
  }
  return null;
}
