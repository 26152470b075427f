import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../log/logger.js';

/** Worker deaths before every worker listens after which the primary gives up. */
const MAX_EARLY_DEATHS = 3;

/** Messages a worker sends its primary. */
export type WorkerMessage = { type: 'listening'; port: number };

export interface PrimaryOptions {
  readonly workers: number;
  readonly logger: Logger;
  /** Always-on logger for the contract "listening" line. */
  readonly listeningLogger: Logger;
  readonly host: string;
  /** Environment added for workers (e.g. a generated development secret they must share). */
  readonly env: Record<string, string>;
  /** Called once every worker listens. */
  onListening?(port: number): void | Promise<void>;
}

/**
 * Multi-core mode: the primary forks `workers` gateway processes that share
 * the listening port (node:cluster) and coordinate through the broker (Redis),
 * like separate nodes. It restarts a worker that dies, logs one "listening"
 * line once all listen, forwards SIGTERM/SIGINT for a graceful drain and exits
 * when they are done; a second signal 1 s later kills them and exits 1.
 */
export function runPrimary(options: PrimaryOptions): void {
  const { logger } = options;
  const listening = new Map<number, number>();
  let announced = false;
  let stopping = false;
  let firstSignalAt = 0;
  let failed = false;

  const fork = (): Worker => {
    const worker = cluster.fork(options.env);
    worker.on('message', (message: WorkerMessage) => {
      if (message?.type !== 'listening') return;
      listening.set(worker.id, message.port);
      if (!announced && listening.size === options.workers) {
        announced = true;
        options.listeningLogger.info(
          { port: message.port, host: options.host, workers: options.workers, pid: process.pid },
          'listening',
        );
        void options.onListening?.(message.port);
      }
    });
    return worker;
  };

  let diedBeforeListening = 0;
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (code !== 0) failed = true;
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    // Workers that cannot even start (Redis unreachable, bad config) would be
    // restarted forever: give up after a few, with the workers' exit status.
    if (!announced && ++diedBeforeListening >= MAX_EARLY_DEATHS) {
      logger.error({ worker_pid: worker.process.pid, code, signal }, 'workers cannot start; giving up');
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
      process.exit(typeof code === 'number' && code !== 0 ? code : 1);
    }
    logger.error({ worker_pid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, 1000).unref();
  });

  const onSignal = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (firstSignalAt !== 0) {
      if (now - firstSignalAt >= 1000) {
        logger.warn({ signal }, 'second signal: killing workers');
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
        process.exit(1);
      }
      return;
    }
    firstSignalAt = now;
    stopping = true;
    logger.info({ signal, workers: options.workers }, 'shutting down workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  for (let i = 0; i < options.workers; i++) fork();
}
