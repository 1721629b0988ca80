import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'pretty' | 'json';

/** LOG_FORMAT when set; else pretty for a person at a terminal, JSON for everything else. */
export function chooseLogFormat(configured: LogFormat | undefined, isTty: boolean | undefined): LogFormat {
  return configured ?? (isTty ? 'pretty' : 'json');
}

/**
 * Structured logs; a request's lines carry its requestId through a child logger. JSON
 * (one object a line, for collectors) unless `format` or a terminal on stdout says pretty.
 */
export function createLogger(
  level: string,
  name = 'marie',
  format?: LogFormat,
  /** Where lines go (tests); stdout by default. */
  destination?: DestinationStream & { isTTY?: boolean },
): Logger {
  const options = {
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'authorization', '*.authorization'], remove: true },
  };
  const isTty = destination ? destination.isTTY : process.stdout.isTTY;
  if (chooseLogFormat(format, isTty) === 'json') return destination ? pino(options, destination) : pino(options);
  const stream = pretty({
    destination: destination ?? 1,
    colorize: !!isTty,
    sync: true,
    ignore: 'pid,hostname',
    translateTime: 'SYS:HH:MM:ss.l',
  });
  return pino(options, stream);
}
