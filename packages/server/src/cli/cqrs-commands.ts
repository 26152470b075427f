import type { ProjectionStatus, RunnerEvent } from '@albatross/cqrs';
import { AlbatrossError } from '@albatross/protocol';
import { Command, Option } from 'commander';
import { ConfigError } from '../config/settings.js';
import { createLogger, type Logger } from '../log/logger.js';

// The event store's commands: `albatross worker` and `albatross projections`.
// `@albatross/cqrs` (and with it pg and PGlite) is imported only when one of
// them runs, so `albatross serve` does not load it.

/**
 * Loads `@albatross/cqrs`, an optional peer: gateway-only installs do not
 * carry pg and PGlite. Missing, it is a configuration error that says what
 * to install, not a stack trace.
 */
async function loadCqrs(): Promise<typeof import('@albatross/cqrs')> {
  try {
    return await import('@albatross/cqrs');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes('@albatross/cqrs')) {
      throw new ConfigError('this command needs the event store package: npm install @albatross/cqrs');
    }
    throw error;
  }
}

interface StoreOptions {
  databaseUrl?: string;
  dataDir: string;
}

function storeOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--database-url <url>', 'PostgreSQL URL (postgres://…); without it the embedded store is used').env(
        'DATABASE_URL',
      ),
    )
    .addOption(
      new Option('--data-dir <dir>', 'data directory of the embedded store (PGlite)')
        .env('ALBATROSS_DATA_DIR')
        .default('./data'),
    );
}

function projectionsOption(command: Command, required: boolean): Command {
  const option = new Option(
    '--projections <module>',
    'module exporting `projections` (or a default export): an array of projections, or a function of the store returning one',
  ).env('ALBATROSS_PROJECTIONS');
  return command.addOption(required ? option.makeOptionMandatory() : option);
}

function storeUrl(options: StoreOptions): string {
  if (options.databaseUrl !== undefined && options.databaseUrl !== '') {
    if (!/^postgres(ql)?:\/\//.test(options.databaseUrl)) {
      throw new ConfigError('invalid --database-url: must be a postgres:// or postgresql:// URL (DATABASE_URL)');
    }
    return options.databaseUrl;
  }
  return options.dataDir;
}

function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
      throw new ConfigError(`invalid --${name}: "${value}" is not a positive integer`);
    }
    return n;
  };
}

/** Bad projections modules and unknown names are usage errors (exit 2), like bad flags. */
function asUsageError(error: unknown): unknown {
  if (error instanceof AlbatrossError && (error.code === 'INVALID_MESSAGE' || error.code === 'NOT_FOUND')) {
    return new ConfigError(error.message);
  }
  return error;
}

function logRunnerEvent(logger: Logger, event: RunnerEvent): void {
  switch (event.type) {
    case 'acquired':
    case 'released':
      logger.info(event, `projection ${event.type}`);
      return;
    case 'applied':
      logger.debug(event, 'projection applied');
      return;
    case 'lost':
      logger.warn(event, 'projection ownership lost');
      return;
    case 'retrying':
      logger.warn(event, 'projection handler failed; retrying');
      return;
    case 'parked':
      logger.error(event, 'projection event parked');
      return;
    case 'error':
      logger.error(event, 'projection runner error');
      return;
    default: {
      const never: never = event;
      logger.warn({ event: never }, 'unknown runner event');
    }
  }
}

function statusTable(rows: readonly ProjectionStatus[]): string {
  const header = ['NAME', 'POSITION', 'HEAD', 'LAG', 'STATUS', 'OWNER', 'PARKED', 'LAST ERROR'];
  const lines = rows.map((r) => [
    r.name,
    String(r.position),
    String(r.head),
    String(r.lag),
    r.status,
    r.owner ?? '-',
    String(r.parked),
    r.lastError ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  return `${[header, ...lines].map((l) => l.map((c, i) => (i === l.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

/** Adds `worker` and `projections {status, rebuild}` to the `albatross` program. */
export function addCqrsCommands(program: Command): void {
  const worker = new Command('worker')
    .description('run projections of the event store (several workers may run; each projection has one owner)')
    .addOption(new Option('--only <names>', 'comma-separated projection names to run (default: all)'))
    .addOption(new Option('--batch-size <n>', 'most events per transaction').argParser(positiveInt('batch-size')))
    .addOption(
      new Option('--poll-interval-ms <n>', 'polling fallback when no notification arrives').argParser(
        positiveInt('poll-interval-ms'),
      ),
    )
    .addOption(
      new Option('--lock-retry-ms <n>', 'how often a projection owned elsewhere is tried (takeover time)').argParser(
        positiveInt('lock-retry-ms'),
      ),
    )
    .addOption(
      new Option('--max-attempts <n>', 'attempts of a failing event before it is parked').argParser(
        positiveInt('max-attempts'),
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
        .env('ALBATROSS_LOG_LEVEL')
        .default('info'),
    );
  storeOptions(worker);
  projectionsOption(worker, true);
  worker.action(
    async (
      options: StoreOptions & {
        projections: string;
        only?: string;
        batchSize?: number;
        pollIntervalMs?: number;
        lockRetryMs?: number;
        maxAttempts?: number;
        logLevel: 'info';
      },
    ) => {
      if (options.databaseUrl === undefined || options.databaseUrl === '') {
        // An embedded store belongs to the one process that opened it; its
        // projections run in that process.
        throw new ConfigError(
          'worker needs --database-url (DATABASE_URL): with the embedded store, projections run in-process',
        );
      }
      const logger = createLogger({ level: options.logLevel });
      const { startWorker } = await loadCqrs();
      const running = await startWorker({
        url: storeUrl(options),
        projectionsModule: options.projections,
        ...(options.only === undefined ? {} : { only: options.only.split(',').map((s) => s.trim()) }),
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        ...(options.pollIntervalMs === undefined ? {} : { pollIntervalMs: options.pollIntervalMs }),
        ...(options.lockRetryMs === undefined ? {} : { lockRetryMs: options.lockRetryMs }),
        ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
        onEvent: (event) => logRunnerEvent(logger, event),
        onConnectionError: (error) => logger.warn({ err: error }, 'database connection error'),
      }).catch((error: unknown) => {
        throw asUsageError(error);
      });
      logger.info({ store: running.store.kind, projections: running.projections.map((p) => p.name) }, 'worker started');
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'worker stopping');
        running
          .stop()
          .then(() => {
            logger.info({}, 'stopped');
            process.exit(0);
          })
          .catch((error: unknown) => {
            logger.error({ err: error }, 'worker stop failed');
            process.exit(1);
          });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    },
  );

  const projections = new Command('projections').description('inspect and rebuild projections');
  const status = storeOptions(
    new Command('status')
      .description('checkpoint, lag, owner, parked events and last error of every projection')
      .option('--json', 'one JSON object per projection'),
  ).action(async (options: StoreOptions & { json?: boolean }) => {
    const { openEventStore, projectionStatus } = await loadCqrs();
    const store = await openEventStore({ url: storeUrl(options) });
    try {
      const rows = await projectionStatus(store);
      process.stdout.write(options.json ? rows.map((r) => `${JSON.stringify(r)}\n`).join('') : statusTable(rows));
    } finally {
      await store.close();
    }
  });
  const rebuild = projectionsOption(
    storeOptions(
      new Command('rebuild')
        .description('rebuild a projection from zero into fresh tables and swap them in (the old ones serve meanwhile)')
        .argument('<name>', 'projection name'),
    ),
    true,
  ).action(async (name: string, options: StoreOptions & { projections: string }) => {
    const { loadProjections, openEventStore, rebuildProjection } = await loadCqrs();
    const store = await openEventStore({ url: storeUrl(options) });
    try {
      const list = await loadProjections(options.projections, store).catch((error: unknown) => {
        throw asUsageError(error);
      });
      const projection = list.find((p) => p.name === name);
      if (!projection) {
        throw new ConfigError(`unknown projection "${name}" (known: ${list.map((p) => p.name).join(', ')})`);
      }
      const result = await rebuildProjection(store, projection);
      process.stdout.write(`${JSON.stringify({ msg: 'rebuilt', ...result })}\n`);
    } finally {
      await store.close();
    }
  });
  projections.addCommand(status);
  projections.addCommand(rebuild);
  program.addCommand(worker);
  program.addCommand(projections);
}
