import type { Logger } from 'pino';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type StopSignal = (typeof SIGNALS)[number];
const SIGNAL_NUMBER: Record<StopSignal, number> = { SIGINT: 2, SIGTERM: 15 };

/**
 * A signal this soon after the first is the same request, not a second one: `npm start`
 * runs the server as npm's child (`exec`), and a Ctrl-C or a signal to the process group
 * reaches the server twice, once directly and once forwarded by npm, within milliseconds.
 */
export const DUPLICATE_SIGNAL_MS = 500;
/** How often a server started by npm checks that npm (or npx's shell) is still there. */
const PARENT_CHECK_MS = 250;

export interface StopRequests {
  /** Resolves with the reason (the signal, or `parent exited`) at the first stop request. */
  readonly requested: Promise<string>;
  /** Stop listening (the handlers stay for the second signal until the process exits). */
  dispose(): void;
}

/**
 * Turn SIGTERM and SIGINT into one stop request, installed before anything starts so that
 * a signal arriving during start-up is not the default "die at once". A second signal
 * (after DUPLICATE_SIGNAL_MS) exits at once with 128 + its number. When `watchParent`
 * (the process was started by `npm start` or `npx`), the parent going away is a stop
 * request too: `kill <npm pid>` makes npx's `sh -c` die without passing the signal on,
 * and the server would be left running, orphaned, holding its port and the database.
 */
export function watchStopRequests(opts: {
  log: Logger;
  watchParent: boolean;
  exit?: (code: number) => void;
}): StopRequests {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let resolve!: (reason: string) => void;
  const requested = new Promise<string>((r) => (resolve = r));
  let firstAt: number | null = null;
  const onSignal = (signal: StopSignal) => {
    const now = Date.now();
    if (firstAt === null) {
      firstAt = now;
      opts.log.info({ signal }, 'shutting down (signal again to exit at once)');
      resolve(signal);
      return;
    }
    if (now - firstAt < DUPLICATE_SIGNAL_MS) return;
    opts.log.warn({ signal }, 'second signal: exiting at once');
    exit(128 + SIGNAL_NUMBER[signal]);
  };
  for (const s of SIGNALS) process.on(s, onSignal);

  let parentTimer: NodeJS.Timeout | null = null;
  if (opts.watchParent) {
    const parent = process.ppid;
    parentTimer = setInterval(() => {
      if (process.ppid === parent || firstAt !== null) return;
      firstAt = Date.now();
      opts.log.info({ parent }, 'shutting down: the process that started this one exited');
      resolve('parent exited');
    }, PARENT_CHECK_MS);
    parentTimer.unref();
  }
  return {
    requested,
    dispose: () => {
      if (parentTimer) clearInterval(parentTimer);
    },
  };
}
