import { describe, expect, it } from 'vitest';
import type { Identity } from '../../src/auth/identity.js';
import {
  type AuthorizeContext,
  ChannelPolicy,
  DEFAULT_BASELINE,
  expandBaseline,
  PLATFORM_ADMIN_ROLE,
} from '../../src/channels/policy.js';
import { AlbatrossError } from '../../src/errors.js';

function identity(overrides: Partial<Identity> = {}): Identity {
  return { userId: 'u1', tenantId: 't1', roles: [], channels: [], exp: 0, credential: { kind: 'jwt' }, ...overrides };
}

async function outcome(policy: ChannelPolicy, who: Identity, channel: string): Promise<string> {
  try {
    await policy.authorize(who, channel);
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(AlbatrossError);
    return (error as AlbatrossError).code;
  }
}

describe('ChannelPolicy built-in rules', () => {
  const policy = new ChannelPolicy();

  it('user channels: only that user', async () => {
    expect(await outcome(policy, identity(), 'user:u1:updates')).toBe('ok');
    expect(await outcome(policy, identity(), 'user:u1:a:b:c')).toBe('ok');
    expect(await outcome(policy, identity(), 'user:u2:updates')).toBe('FORBIDDEN');
    // A same-named user of another tenant is still another user: ids are global, match on sub only.
    expect(await outcome(policy, identity({ tenantId: 't2' }), 'user:u1:updates')).toBe('ok');
    // Prefix tricks.
    expect(await outcome(policy, identity(), 'user:u10:updates')).toBe('FORBIDDEN');
    expect(await outcome(policy, identity({ userId: 'u10' }), 'user:u1:updates')).toBe('FORBIDDEN');
  });

  it('user and tenant channels need a topic segment', async () => {
    expect(await outcome(policy, identity(), 'user:u1')).toBe('FORBIDDEN');
    expect(await outcome(policy, identity(), 'tenant:t1')).toBe('FORBIDDEN');
  });

  it('tenant channels: members only', async () => {
    expect(await outcome(policy, identity(), 'tenant:t1:updates')).toBe('ok');
    expect(await outcome(policy, identity(), 'tenant:t2:updates')).toBe('FORBIDDEN');
    expect(await outcome(policy, identity(), 'tenant:t10:updates')).toBe('FORBIDDEN');
  });

  it('PlatformAdmin crosses tenants only when enabled, and never into user channels', async () => {
    const admin = identity({ roles: [PLATFORM_ADMIN_ROLE] });
    expect(PLATFORM_ADMIN_ROLE).toBe('PlatformAdmin');
    expect(await outcome(policy, admin, 'tenant:t2:updates')).toBe('FORBIDDEN');
    const enabled = new ChannelPolicy({ allowPlatformAdmin: true });
    expect(await outcome(enabled, admin, 'tenant:t2:updates')).toBe('ok');
    expect(await outcome(enabled, admin, 'user:u2:updates')).toBe('FORBIDDEN');
    expect(await outcome(enabled, identity({ roles: ['platformadmin', 'Admin'] }), 'tenant:t2:updates')).toBe(
      'FORBIDDEN',
    );
    expect(await outcome(enabled, identity(), 'tenant:t2:updates')).toBe('FORBIDDEN');
  });

  it('other namespaces are denied without an authorizer, including Object.prototype names', async () => {
    for (const channel of [
      'campaign:7:updates',
      'constructor:x:y',
      '__proto__:x:y',
      'toString:a:b',
      'hasOwnProperty:a',
    ]) {
      expect(await outcome(policy, identity(), channel)).toBe('FORBIDDEN');
    }
  });

  it('an invalid name is INVALID_MESSAGE', async () => {
    for (const channel of ['nocolon', 'user::u1', '', 'tenant:t1:a b']) {
      expect(await outcome(policy, identity(), channel)).toBe('INVALID_MESSAGE');
    }
  });

  it('the channels claim allows exactly the listed names', async () => {
    const who = identity({ channels: ['campaign:7:updates', 'tenant:t2:shared'] });
    expect(await outcome(policy, who, 'campaign:7:updates')).toBe('ok');
    expect(await outcome(policy, who, 'campaign:7:updates:more')).toBe('FORBIDDEN');
    expect(await outcome(policy, who, 'campaign:8:updates')).toBe('FORBIDDEN');
    expect(await outcome(policy, who, 'tenant:t2:shared')).toBe('ok');
    expect(await outcome(policy, who, 'tenant:t2:updates')).toBe('FORBIDDEN');
  });
});

describe('ChannelPolicy authorizers', () => {
  it('sync and async authorizers decide their namespace, with the parsed channel', async () => {
    const seen: AuthorizeContext[] = [];
    const policy = new ChannelPolicy({
      authorizers: {
        campaign: async (ctx) => {
          seen.push(ctx);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return ctx.channel.segments[0] === '7' && ctx.identity.userId === 'u1';
        },
        room: ({ channel }) => channel.segments[0] === 'open',
      },
    });
    expect(await outcome(policy, identity(), 'campaign:7:updates')).toBe('ok');
    expect(await outcome(policy, identity(), 'campaign:8:updates')).toBe('FORBIDDEN');
    expect(await outcome(policy, identity({ userId: 'u2' }), 'campaign:7:updates')).toBe('FORBIDDEN');
    expect(await outcome(policy, identity(), 'room:open')).toBe('ok');
    expect(await outcome(policy, identity(), 'room:closed')).toBe('FORBIDDEN');
    expect(seen[0]?.channel).toEqual({ name: 'campaign:7:updates', namespace: 'campaign', segments: ['7', 'updates'] });
    expect(seen[0]?.identity.userId).toBe('u1');
  });

  it('only a literal true allows', async () => {
    const policy = new ChannelPolicy({
      authorizers: {
        one: () => 1 as unknown as boolean,
        str: async () => 'yes' as unknown as boolean,
        undef: () => undefined as unknown as boolean,
      },
    });
    for (const channel of ['one:a', 'str:a', 'undef:a'])
      expect(await outcome(policy, identity(), channel)).toBe('FORBIDDEN');
  });

  it('a throwing or rejecting authorizer is UNAVAILABLE, not FORBIDDEN and not a crash', async () => {
    const policy = new ChannelPolicy({
      authorizers: {
        sync: () => {
          throw new Error('db down');
        },
        async: async () => {
          throw new Error('db down');
        },
      },
    });
    expect(await outcome(policy, identity(), 'sync:a')).toBe('UNAVAILABLE');
    expect(await outcome(policy, identity(), 'async:a')).toBe('UNAVAILABLE');
  });

  it('authorizers cannot override the built-in user and tenant rules', async () => {
    const policy = new ChannelPolicy({ authorizers: { user: () => true, tenant: () => true } });
    expect(await outcome(policy, identity(), 'user:u2:updates')).toBe('FORBIDDEN');
    expect(await outcome(policy, identity(), 'tenant:t2:updates')).toBe('FORBIDDEN');
  });

  it('the channels claim allows without asking the authorizer', async () => {
    let calls = 0;
    const policy = new ChannelPolicy({
      authorizers: {
        campaign: () => {
          calls += 1;
          return false;
        },
      },
    });
    expect(await outcome(policy, identity({ channels: ['campaign:7:x'] }), 'campaign:7:x')).toBe('ok');
    expect(calls).toBe(0);
  });
});

describe('expandBaseline', () => {
  it('substitutes {sub} and {tenant_id}, everywhere, and removes duplicates', () => {
    expect(DEFAULT_BASELINE).toEqual(['user:{sub}:updates', 'user:{sub}:apikeys', 'tenant:{tenant_id}:updates']);
    expect(expandBaseline(DEFAULT_BASELINE, identity())).toEqual([
      'user:u1:updates',
      'user:u1:apikeys',
      'tenant:t1:updates',
    ]);
    expect(expandBaseline(['x:{sub}:{sub}:{tenant_id}', 'x:{sub}:{sub}:{tenant_id}', 'fixed:a'], identity())).toEqual([
      'x:u1:u1:t1',
      'fixed:a',
    ]);
    expect(expandBaseline([], identity())).toEqual([]);
  });
});
