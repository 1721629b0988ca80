import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; a request's lines carry its requestId through a child logger. */
export function createLogger(level: string, name = 'marie'): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'authorization', '*.authorization'], remove: true },
  });
}
