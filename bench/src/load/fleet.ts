import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from '../processes.js';
import type {
  Command,
  ConnectResult,
  ConnectSpec,
  Counts,
  ReconnectResult,
  ReconnectSpec,
  Reply,
  Taken,
} from './messages.js';

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** One load-generator child process and its pending IPC requests. */
class Worker {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.value);
      else waiter.reject(new Error(`load worker: ${reply.error}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = `load worker ${this.pid} exited (${signal ?? code})`;
      this.failAll(new Error(this.exited));
    });
    // A dead worker's IPC channel emits 'error' on send: fail the calls, not the process.
    child.on('error', (error) => this.failAll(error));
  }

  /** Set once the child has exited: later calls fail at once. */
  private exited: string | null = null;

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  /** False once the child has exited (by itself or by a signal) or its IPC channel has closed (it is dying). */
  get alive(): boolean {
    return this.child.connected && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<T>(command: Command): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.exited !== null) return reject(new Error(this.exited));
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, command }, (error) => {
        if (error === null || !this.pending.delete(id)) return;
        reject(error);
      });
    });
  }
}

/**
 * The coordinator's handle on the load-generator processes (each pinned to
 * `cpu` with taskset): it splits subscribers between them and adds up what
 * they report.
 */
export class Fleet {
  private constructor(private readonly workers: Worker[]) {}

  static async start(count: number, cpu: number | undefined, nodeFlags: readonly string[] = []): Promise<Fleet> {
    const workers: Worker[] = [];
    for (let w = 0; w < count; w++) {
      const argv = [...(cpu === undefined ? [] : ['-c', String(cpu), process.execPath]), ...nodeFlags, WORKER];
      const child = track(
        spawn(cpu === undefined ? process.execPath : 'taskset', argv, {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      );
      workers.push(new Worker(child));
    }
    const fleet = new Fleet(workers);
    await fleet.counts();
    return fleet;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Opens `total` connections split evenly over the workers (global indices from `base`). */
  async connect(spec: Omit<ConnectSpec, 'from' | 'count'>, total: number, base = 0): Promise<ConnectResult> {
    const n = this.workers.length;
    const results = await Promise.all(
      this.workers.map((w, k) => {
        const from = base + Math.floor((total * k) / n);
        const to = base + Math.floor((total * (k + 1)) / n);
        return w.call<ConnectResult>({ op: 'connect', spec: { ...spec, from, count: to - from } });
      }),
    );
    const failures: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
    return {
      connected: sum(results.map((r) => r.connected)),
      failed: sum(results.map((r) => r.failed)),
      failures,
      ms: Math.max(...results.map((r) => r.ms)),
    };
  }

  async reset(sampleEvery: number): Promise<void> {
    await this.all({ op: 'reset', sampleEvery });
  }

  async counts(): Promise<Counts> {
    return mergeCounts(await this.all<Counts>({ op: 'counts' }));
  }

  async take(): Promise<Taken> {
    const parts = await this.all<Taken>({ op: 'take' });
    const samples: number[] = [];
    for (const p of parts) for (const s of p.samples) samples.push(s);
    return { ...mergeCounts(parts), samples };
  }

  async drop(): Promise<void> {
    await this.all({ op: 'drop' });
  }

  async reconnect(spec: ReconnectSpec): Promise<ReconnectResult> {
    const parts = await this.all<ReconnectResult>({ op: 'reconnect', spec });
    return {
      clients: sum(parts.map((p) => p.clients)),
      recovered: sum(parts.map((p) => p.recovered)),
      notRecovered: sum(parts.map((p) => p.notRecovered)),
      incomplete: sum(parts.map((p) => p.incomplete)),
      replayed: sum(parts.map((p) => p.replayed)),
      gaps: sum(parts.map((p) => p.gaps)),
      dups: sum(parts.map((p) => p.dups)),
      ms: Math.max(...parts.map((p) => p.ms)),
    };
  }

  async waitOffset(target: number, timeoutMs: number): Promise<boolean> {
    return (await this.all<boolean>({ op: 'waitOffset', target, timeoutMs })).every(Boolean);
  }

  /**
   * Closes every client. A worker that has exited holds none (its sockets
   * went with it), so it does not fail this: scenarios call it in `finally`
   * before stopping the system under test, which must run regardless.
   */
  async closeAll(): Promise<void> {
    await Promise.all(
      this.workers.map((w) =>
        w.call({ op: 'closeAll' }).catch((error: unknown) => {
          if (w.alive) throw error;
        }),
      ),
    );
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (!w.alive) return resolve();
            const timer = setTimeout(() => w.child.kill('SIGKILL'), 5000);
            w.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.call({ op: 'exit' }).catch(() => undefined);
          }),
      ),
    );
  }

  private all<T>(command: Command): Promise<T[]> {
    return Promise.all(this.workers.map((w) => w.call<T>(command)));
  }
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

function mergeCounts(parts: Counts[]): Counts {
  const closes: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.closes)) closes[k] = (closes[k] ?? 0) + v;
  return {
    frames: sum(parts.map((p) => p.frames)),
    wireBytes: sum(parts.map((p) => p.wireBytes)),
    reads: sum(parts.map((p) => p.reads)),
    controlFrames: sum(parts.map((p) => p.controlFrames)),
    gaps: sum(parts.map((p) => p.gaps)),
    dups: sum(parts.map((p) => p.dups)),
    closes,
    open: sum(parts.map((p) => p.open)),
  };
}
