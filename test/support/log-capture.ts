import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** A logger whose lines land, parsed, in `lines` (start an app with it to read what the server logs). */
export function logTo(lines: Array<Record<string, unknown>>, level: pino.Level = 'debug'): Logger {
  return pino(
    { level },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
        done();
      },
    }),
  );
}
