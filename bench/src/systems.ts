import { fileURLToPath } from 'node:url';
import type { Endpoint, Proto } from './load/messages.js';
import { type ServerProcess, startNodeServer, startRedis } from './processes.js';

export const SECRET = 'bench-secret-0123456789abcdef';
export const ADMIN_KEY = 'bench-admin-key-0123456789';

let gatewayCli = fileURLToPath(new URL('../../packages/server/dist/cli/main.js', import.meta.url));

/** Runs the gateway from this CLI entry (a snapshot of the build) from now on. */
export function useGatewayCli(path: string): void {
  gatewayCli = path;
}
const peer = (name: string): string => fileURLToPath(new URL(`./peers/${name}.js`, import.meta.url));

export type SystemName =
  | 'albatross'
  | 'albatross-hold'
  | 'ws-floor'
  | 'socketio'
  | 'socketio-redis-2'
  | 'albatross-redis-3'
  | 'socketio-redis-3';

export const LABELS: Record<SystemName, string> = {
  albatross: 'Albatross (1 node)',
  'albatross-hold': 'Albatross (1 node), longer write hold',
  'ws-floor': 'plain ws floor',
  socketio: 'Socket.IO 4.8',
  'socketio-redis-2': 'Socket.IO + redis adapter, 2 nodes',
  'albatross-redis-3': 'Albatross, 3 nodes + Redis',
  'socketio-redis-3': 'Socket.IO + redis adapter, 3 nodes',
};

let holdVariantMs = 20;

/**
 * `--hold-variant MS`: the `albatross-hold` system is the gateway with
 * `--coalesce-max-delay-ms MS`, measured beside the default in the same
 * interleaved rounds.
 */
export function useHoldVariant(ms: number): void {
  holdVariantMs = ms;
  LABELS['albatross-hold'] = `Albatross (1 node), --coalesce-max-delay-ms ${ms}`;
}

export interface SystemOptions {
  /** Core the server processes (and Redis) are pinned to. */
  cpu: number | undefined;
  /** Albatross `--baseline-channels` (default: only the tenant channel). */
  baseline?: string;
  /** Extra node flags for the gateway (e.g. --cpu-prof). */
  nodeFlags?: readonly string[];
  /** Extra `albatross serve` flags, after the bench's own (a later flag wins), e.g. the product's rate limit. */
  extraArgs?: readonly string[];
}

/** A started system under test: its nodes, the processes whose CPU counts as the server's, and a stop. */
export interface Running {
  name: SystemName;
  proto: Proto;
  nodes: Endpoint[];
  /** Every server-side process: nodes and Redis. */
  pids: number[];
  /** Node processes only (memory is measured on these). */
  nodePids: number[];
  stop(graceMs?: number): Promise<void>;
}

export function gatewayArgs(baseline: string, redisUrl?: string): string[] {
  return [
    '--port',
    '0',
    '--jwt-secret',
    SECRET,
    '--admin-key',
    ADMIN_KEY,
    '--log-level',
    'warn',
    '--heartbeat-ms',
    '600000',
    '--idle-timeout-ms',
    '600000',
    '--rate-limit',
    'off',
    '--slow-consumer-bytes',
    String(256 * 1024 * 1024),
    '--drain-ms',
    '100',
    '--baseline-channels',
    baseline,
    ...(redisUrl ? ['--redis-url', redisUrl] : []),
  ];
}

export async function startSystem(name: SystemName, options: SystemOptions): Promise<Running> {
  const nodeCount = name === 'socketio-redis-2' ? 2 : name.endsWith('-3') ? 3 : 1;
  const needsRedis = nodeCount > 1;
  const redis = needsRedis ? await startRedis(options.cpu) : null;
  if (needsRedis && !redis) throw new Error('redis-server is not available');
  const redisUrl = redis ? `redis://127.0.0.1:${redis.port}` : undefined;
  const nodes: ServerProcess[] = [];
  const stop = async (graceMs?: number): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop(graceMs)));
    await redis?.stop();
  };
  try {
    for (let i = 0; i < nodeCount; i++) {
      if (name.startsWith('albatross')) {
        const baseline = options.baseline ?? 'tenant:{tenant_id}:updates';
        nodes.push(
          await startNodeServer(
            gatewayCli,
            [
              'serve',
              ...gatewayArgs(baseline, redisUrl),
              ...(name === 'albatross-hold' ? ['--coalesce-max-delay-ms', String(holdVariantMs)] : []),
              ...(options.extraArgs ?? []),
            ],
            {
              cpu: options.cpu,
              nodeFlags: options.nodeFlags ?? [],
            },
          ),
        );
      } else if (name === 'ws-floor') {
        nodes.push(await startNodeServer(peer('ws-floor'), ['--port', '0', '--admin-key', ADMIN_KEY], options));
      } else {
        const args = ['--port', '0', '--admin-key', ADMIN_KEY, ...(redisUrl ? ['--redis-url', redisUrl] : [])];
        nodes.push(await startNodeServer(peer('socketio'), args, options));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    name,
    proto: name.startsWith('albatross') ? 'albatross' : name === 'ws-floor' ? 'plain' : 'socketio',
    nodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    pids: [...nodes.map((n) => n.pid), ...(redis ? [redis.pid] : [])],
    nodePids: nodes.map((n) => n.pid),
    stop,
  };
}
