/** The IPC contract between the coordinator (fleet.ts) and each load-generator process (worker.ts). */

export type Proto = 'albatross' | 'plain' | 'socketio';

export interface Endpoint {
  host: string;
  port: number;
}

export interface ConnectSpec {
  proto: Proto;
  /** Connection i goes to nodes[i % nodes.length] from sources[i % sources.length]. */
  nodes: Endpoint[];
  sources: string[];
  /** Global index of this worker's first connection; it opens `count` of them. */
  from: number;
  count: number;
  /** Tenant of connection i: `t${i % tenants}`, or `bench` when 0. User: `u${i}`. */
  tenants: number;
  secret: string;
  /** Albatross only: send an explicit subscribe for the tenant channel after the welcome. */
  subscribe: boolean;
  concurrency: number;
  timeoutMs: number;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  /** Failure reasons (close code or HTTP status) and how often. */
  failures: Record<string, number>;
  ms: number;
}

export interface Counts {
  frames: number;
  wireBytes: number;
  /** Socket reads (one `onread` callback each): frames / reads shows how many frames a server write carried. */
  reads: number;
  controlFrames: number;
  gaps: number;
  dups: number;
  /** Connections that closed after they were ready, by close code. */
  closes: Record<string, number>;
  open: number;
}

export interface Taken extends Counts {
  /** Publish-to-receive latencies in ms of every `sampleEvery`-th event. */
  samples: number[];
}

export interface ReconnectSpec {
  concurrency: number;
  timeoutMs: number;
  /** Done when every connection was recovered and has seen this offset. */
  targetOffset: number;
}

export interface ReconnectResult {
  clients: number;
  recovered: number;
  notRecovered: number;
  incomplete: number;
  replayed: number;
  gaps: number;
  dups: number;
  ms: number;
}

export type Command =
  | { op: 'connect'; spec: ConnectSpec }
  | { op: 'reset'; sampleEvery: number }
  | { op: 'counts' }
  | { op: 'take' }
  | { op: 'drop' }
  | { op: 'reconnect'; spec: ReconnectSpec }
  | { op: 'waitOffset'; target: number; timeoutMs: number }
  | { op: 'closeAll' }
  | { op: 'exit' };

export interface Request {
  id: number;
  command: Command;
}

export interface Reply {
  id: number;
  ok: boolean;
  error?: string;
  value?: unknown;
}
