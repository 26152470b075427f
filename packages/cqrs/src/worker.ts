import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AlbatrossError } from '@albatross/protocol';
import type { Projection } from './projection.js';
import { createProjectionRunner, type ProjectionRunner, type ProjectionRunnerOptions } from './runner.js';
import { openEventStore, type SqlEventStore } from './store.js';

/**
 * What a projections module exports: `projections` (or the default export),
 * either an array of projections or a function of the store returning one
 * (for projections that need the store or their own connections).
 */
export type ProjectionsExport =
  | readonly Projection[]
  | ((store: SqlEventStore) => readonly Projection[] | Promise<readonly Projection[]>);

/** Loads the projections a module exports (see {@link ProjectionsExport}). */
export async function loadProjections(modulePath: string, store: SqlEventStore): Promise<readonly Projection[]> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(projectionsModuleUrl(modulePath))) as Record<string, unknown>;
  } catch (error) {
    throw new AlbatrossError(
      'INVALID_MESSAGE',
      `cannot load projections module ${modulePath}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const exported = (mod.projections ?? mod.default) as ProjectionsExport | undefined;
  const list = typeof exported === 'function' ? await exported(store) : exported;
  if (!Array.isArray(list) || list.length === 0) {
    throw new AlbatrossError(
      'INVALID_MESSAGE',
      `projections module ${modulePath} must export "projections" (or a default): a non-empty array, or a function of the store returning one`,
    );
  }
  return list as readonly Projection[];
}

const BARE_SPECIFIER = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w.-]+)*$/i;

/**
 * What to import for `--projections`: a file path (relative to the working
 * directory), or, when no such file exists, a package specifier such as
 * `@albatross/platform/projections`, resolved like any import.
 */
export function projectionsModuleUrl(modulePath: string): string {
  const file = resolve(modulePath);
  if (BARE_SPECIFIER.test(modulePath) && !modulePath.startsWith('.') && !existsSync(file)) return modulePath;
  return pathToFileURL(file).href;
}

/** Options of {@link startWorker}. */
export interface WorkerOptions extends ProjectionRunnerOptions {
  /** Store URL (`postgres://…`, a PGlite data directory, or `memory://`). */
  url?: string;
  /** Module exporting the projections to run. */
  projectionsModule: string;
  /** Only these projections of the module (default: all). */
  only?: readonly string[];
  /** Errors of idle PostgreSQL connections (they are replaced); log them. */
  onConnectionError?: (error: Error) => void;
}

/** A running worker. */
export interface Worker {
  store: SqlEventStore;
  runner: ProjectionRunner;
  projections: readonly Projection[];
  /** Stops the runner (releasing ownership) and closes the store. */
  stop(): Promise<void>;
}

/**
 * Starts a projection worker: opens the store, loads the projections module
 * and runs them. Several workers may run; each projection is owned by one.
 */
export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const store = await openEventStore({
    ...(options.url === undefined ? {} : { url: options.url }),
    ...(options.onConnectionError === undefined ? {} : { onError: options.onConnectionError }),
  });
  try {
    let projections = await loadProjections(options.projectionsModule, store);
    if (options.only !== undefined && options.only.length > 0) {
      const wanted = new Set(options.only);
      const unknown = [...wanted].filter((name) => !projections.some((p) => p.name === name));
      if (unknown.length > 0) throw new AlbatrossError('NOT_FOUND', `unknown projection(s): ${unknown.join(', ')}`);
      projections = projections.filter((p) => wanted.has(p.name));
    }
    const runner = createProjectionRunner(store, projections, options);
    await runner.start();
    return {
      store,
      runner,
      projections,
      async stop() {
        await runner.stop();
        await store.close();
      },
    };
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
}
