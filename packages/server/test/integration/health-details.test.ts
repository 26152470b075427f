import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import type { Broker } from '../../src/broker/types.js';
import { ADMIN_KEY, get, useGateways } from '../support/harness.js';

const gateways = useGateways();

// What a Redis Cluster broker reports while a master is unreachable: internal addresses.
const INTERNAL_ADDRESS = '10.231.77.19:7002';
const brokenCluster = (): Broker =>
  Object.assign(new MemoryBroker(), {
    health: async () => ({
      status: 'down' as const,
      mode: 'cluster',
      commands: 'ready',
      subscribers_down: [INTERNAL_ADDRESS],
    }),
  });

describe('/health (D8)', () => {
  it('tells anonymous callers the status of each check, not broker internals', async () => {
    const running = await gateways.start({ broker: brokenCluster() });
    const anonymous = await get(running.httpUrl, '/health', null);
    expect(anonymous.status).toBe(503);
    expect(anonymous.body).toEqual({
      status: 'down',
      checks: {
        broker: { status: 'down' },
        history: { status: 'down' },
        event_loop: { status: expect.stringMatching(/^(ok|degraded)$/) },
      },
    });
    expect(JSON.stringify(anonymous.body)).not.toContain(INTERNAL_ADDRESS);
    expect(JSON.stringify(anonymous.body)).not.toContain('cluster');
  });

  it('shows the details to the admin key, and refuses a wrong key', async () => {
    const running = await gateways.start({ broker: brokenCluster() });
    const admin = await get(running.httpUrl, '/health', ADMIN_KEY);
    expect(admin.status).toBe(503);
    expect(admin.body).toMatchObject({
      status: 'down',
      checks: { broker: { status: 'down', mode: 'cluster', subscribers_down: [INTERNAL_ADDRESS] } },
    });
    const wrong = await get(running.httpUrl, '/health', 'not-the-admin-key-3b9f1c07d2e84a65');
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(INTERNAL_ADDRESS);
  });
});
