import type { Logger } from '../log/logger.js';

/** What {@link handleShutdownSignals} needs of the process (injectable for tests). */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

/** Options of {@link handleShutdownSignals}. */
export interface ShutdownSignalOptions {
  logger: Logger;
  /** Drains and closes everything; the process exits 0 when it resolves, 1 when it rejects. */
  shutdown(signal: NodeJS.Signals): Promise<void>;
  /**
   * A second signal this long after the first exits at once with status 1
   * (default 1000 ms); one sooner is taken as the same request and ignored.
   */
  forceAfterMs?: number;
  /** Added to the `shutting down` log line (e.g. the drain window). */
  logFields?: Record<string, unknown>;
  /** The process to watch and exit (default `process`; tests pass a stand-in). */
  target?: SignalTarget;
  /** The clock, ms (default `Date.now`; tests pass their own). */
  now?: () => number;
}

/**
 * Runs `shutdown` on the first SIGTERM or SIGINT and exits when it is done.
 * An operator who signals again (after `forceAfterMs`) gets an exit at once,
 * with status 1. A second signal sooner than that is taken as the same stop
 * request arriving twice (a supervisor that signals both the process group
 * and the process, a key pressed twice), so it does not cut the drain short.
 *
 * @example
 * handleShutdownSignals({
 *   logger,
 *   shutdown: () => gateway.drain().then(() => new Promise((resolve) => server.close(() => resolve()))),
 * });
 */
export function handleShutdownSignals(options: ShutdownSignalOptions): void {
  const target = options.target ?? process;
  const now = options.now ?? Date.now;
  const forceAfterMs = options.forceAfterMs ?? 1000;
  const { logger } = options;
  let firstSignalAt: number | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    const at = now();
    if (firstSignalAt !== null) {
      if (at - firstSignalAt >= forceAfterMs) {
        logger.warn({ signal }, 'second signal: exiting now');
        target.exit(1);
      }
      return;
    }
    firstSignalAt = at;
    logger.info({ signal, ...options.logFields }, 'shutting down');
    // Through a promise, so a shutdown that throws at once is still logged and exits 1.
    Promise.resolve()
      .then(() => options.shutdown(signal))
      .then(
        () => {
          logger.info({}, 'stopped');
          target.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          target.exit(1);
        },
      );
  };
  target.on('SIGTERM', onSignal);
  target.on('SIGINT', onSignal);
}
