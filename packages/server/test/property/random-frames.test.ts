/**
 * Property: whatever sequence of frames (valid or not) several clients of two
 * tenants send, interleaved with publications to both tenants,
 * - the server keeps running (answers pings, /live, new connections);
 * - every frame gets exactly one answer, in order, as the protocol says;
 * - no client ever receives an event of a channel it may not subscribe
 *   (tenant t2's events never reach t1 clients, nor one user's another's);
 * - per held channel, events arrive with offsets growing by exactly one from
 *   the ack/welcome position (or the recovered `since`), none after an
 *   unsubscribe ack, and none lost: at the end each client is at the latest
 *   offset of every channel it holds.
 */
import { isValidChannel, type ServerFrame, type StreamPosition } from '@albatross/protocol';
import { parseClientFrame } from '@albatross/protocol/validate';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import { type Running, signToken, startGateway, TestClient } from '../support/harness.js';
import { LatencyBroker } from '../support/latency-broker.js';

interface User {
  sub: string;
  tenant: string;
}
const USERS: readonly User[] = [
  { sub: 'u1', tenant: 't1' },
  { sub: 'u2', tenant: 't1' },
  { sub: 'u3', tenant: 't2' },
];
const PUBLISHED = [
  'tenant:t1:updates',
  'tenant:t1:orders',
  'tenant:t2:updates',
  'tenant:t2:orders',
  'user:u1:updates',
  'user:u2:updates',
  'user:u3:updates',
  'user:u3:secret',
  'room:1:chat',
] as const;
const HISTORY_SIZE = 8;
const NAMES = [...PUBLISHED, 'user:u1', 'tenant:t2', 'bad', 'tenant:t1:', 'a b:c', `tenant:t1:${'x'.repeat(250)}`];

/** Mirrors the built-in policy (no authorizers, no channels claim). */
function allowed(user: User, channel: string): boolean {
  if (!isValidChannel(channel)) return false;
  const parts = channel.split(':');
  if (parts.length < 3) return false;
  return (parts[0] === 'tenant' && parts[1] === user.tenant) || (parts[0] === 'user' && parts[1] === user.sub);
}

// --- generated commands -----------------------------------------------------

type TokenKind = 'same' | 'otherUser' | 'otherTenant' | 'badSignature' | 'expired' | 'garbage';
/** `since` relative to the channel's position when sent: latest + delta (at least 0). */
type SinceSpec = { delta: number; epoch: 'current' | string };
type EntrySpec = string | { channel: string; since?: SinceSpec };
type FrameSpec =
  | { t: 'subscribe'; id: number; channels: EntrySpec[] }
  | { t: 'unsubscribe'; id: number; channels: string[] }
  | { t: 'ping'; id?: number }
  | { t: 'auth'; id?: number; token: TokenKind }
  | { t: 'text'; text: string }
  | { t: 'json'; value: unknown }
  | { t: 'binary'; bytes: Uint8Array };
type Command =
  | { kind: 'send'; client: number; frame: FrameSpec }
  /** `repeat` publications to each channel, `gapMs` apart: a burst spread over time. */
  | { kind: 'publish'; channels: string[]; repeat: number; gapMs: number }
  | { kind: 'yield'; ms: number }
  /** A subscribe, then publications to the channels it names while it is being handled. */
  | { kind: 'race'; client: number; frame: Extract<FrameSpec, { t: 'subscribe' }>; repeat: number; gapMs: number };

const idArb = fc.nat({ max: 999 });
const nameArb = fc.constantFrom(...NAMES);
const sinceArb: fc.Arbitrary<SinceSpec> = fc.record({
  delta: fc.integer({ min: -(HISTORY_SIZE + 3), max: 2 }),
  epoch: fc.oneof(
    fc.constant('current' as const),
    fc.constant('current' as const),
    fc.string({ minLength: 1, maxLength: 8 }),
  ),
});
const entryArb: fc.Arbitrary<EntrySpec> = fc.oneof(
  nameArb,
  fc.record({ channel: nameArb }),
  fc.record({ channel: nameArb, since: sinceArb }),
  fc.record({ channel: nameArb, since: sinceArb }),
);
const subscribeArb = fc.record({
  t: fc.constant('subscribe' as const),
  id: idArb,
  channels: fc.array(entryArb, { minLength: 1, maxLength: 4 }),
});
const frameArb: fc.Arbitrary<FrameSpec> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('subscribe' as const),
      id: idArb,
      channels: fc.array(entryArb, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('unsubscribe' as const),
      id: idArb,
      channels: fc.array(nameArb, { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('ping' as const), id: idArb }, { requiredKeys: ['t'] }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        t: fc.constant('auth' as const),
        id: idArb,
        token: fc.constantFrom<TokenKind>('same', 'otherUser', 'otherTenant', 'badSignature', 'expired', 'garbage'),
      },
      { requiredKeys: ['t', 'token'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('text' as const), text: fc.string({ unit: 'binary', maxLength: 40 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('json' as const),
      value: fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        // Known types with fields of arbitrary (usually wrong) types.
        fc.record(
          {
            type: fc.constantFrom('auth', 'subscribe', 'unsubscribe', 'ping', 'publish', 'welcome', 'toString'),
            id: fc.oneof(idArb, fc.jsonValue({ maxDepth: 1 })),
            channels: fc.oneof(
              fc.array(fc.oneof(nameArb, fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }),
              fc.jsonValue({ maxDepth: 2 }),
            ),
            token: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: ['type'] },
        ),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('binary' as const), bytes: fc.uint8Array({ maxLength: 24 }) }) },
);
const commandArb = (clients: number): fc.Arbitrary<Command> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('send' as const),
        client: fc.nat({ max: clients - 1 }),
        frame: frameArb,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('publish' as const),
        channels: fc.uniqueArray(fc.constantFrom(...PUBLISHED), { minLength: 1, maxLength: 3 }),
        repeat: fc.integer({ min: 1, max: 6 }),
        gapMs: fc.nat({ max: 2 }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('yield' as const), ms: fc.nat({ max: 3 }) }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('race' as const),
        client: fc.nat({ max: clients - 1 }),
        frame: subscribeArb,
        repeat: fc.integer({ min: 1, max: 8 }),
        gapMs: fc.nat({ max: 2 }),
      }),
    },
  );

// --- the model of one client -------------------------------------------------

type Expected =
  | { kind: 'pong'; id: number | undefined }
  | { kind: 'error'; code: string; id: number | undefined }
  | { kind: 'subAck'; id: number; requested: Array<{ channel: string; since: StreamPosition | undefined }> }
  | { kind: 'unsubAck'; id: number; channels: string[] }
  | { kind: 'auth'; id: number | undefined; outcome: 'ack' | 'FORBIDDEN' | 'UNAUTHORIZED' | 'TOKEN_EXPIRED' };

class Model {
  readonly expected: Expected[] = [];
  readonly held = new Map<string, { epoch: string; last: number }>();

  constructor(
    readonly user: User,
    readonly client: TestClient,
  ) {}

  fail(message: string, frame: unknown): never {
    throw new Error(`${this.user.sub}: ${message}: ${JSON.stringify(frame)}`);
  }

  /** Feeds every frame the client received, in order. */
  observe(frame: ServerFrame): void {
    switch (frame.type) {
      case 'heartbeat':
        return;
      case 'welcome':
      case 'gap':
        this.fail('unexpected frame', frame);
        return;
      case 'event': {
        if (!allowed(this.user, frame.channel)) this.fail('LEAK: event of a forbidden channel', frame);
        const held = this.held.get(frame.channel);
        if (!held) this.fail('event of a channel not held', frame);
        if (frame.epoch !== held.epoch) this.fail(`event epoch differs from ${held.epoch}`, frame);
        if (frame.offset !== held.last + 1) this.fail(`event offset after ${held.last}`, frame);
        held.last = frame.offset;
        return;
      }
      default:
        break;
    }
    const want = this.expected.shift();
    if (!want) this.fail('answer to no frame', frame);
    switch (frame.type) {
      case 'pong':
        if (want.kind !== 'pong' || frame.id !== want.id) this.fail(`expected ${JSON.stringify(want)}, got`, frame);
        return;
      case 'error':
        if (want.kind === 'error' && want.code === frame.code && want.id === frame.id) return;
        if (want.kind === 'auth' && want.outcome === frame.code && want.id === frame.id) return;
        this.fail(`expected ${JSON.stringify(want)}, got`, frame);
        return;
      case 'ack':
        if ('refreshed' in frame) {
          if (want.kind !== 'auth' || want.outcome !== 'ack' || frame.id !== want.id || frame.refreshed !== true) {
            this.fail(`expected ${JSON.stringify(want)}, got`, frame);
          }
          return;
        }
        if ('removed' in frame) {
          if (want.kind !== 'unsubAck' || frame.id !== want.id)
            this.fail(`expected ${JSON.stringify(want)}, got`, frame);
          expect([...frame.removed, ...frame.missing].sort()).toEqual([...want.channels].sort());
          for (const channel of frame.removed) {
            if (!this.held.delete(channel)) this.fail(`removed ${channel} that was not held`, frame);
          }
          for (const channel of frame.missing)
            if (this.held.has(channel)) this.fail(`${channel} held but missing`, frame);
          return;
        }
        if (want.kind !== 'subAck' || frame.id !== want.id) this.fail(`expected ${JSON.stringify(want)}, got`, frame);
        this.subscribed(frame, want);
        return;
      default:
        this.fail('unknown frame', frame);
    }
  }

  private subscribed(
    frame: Extract<ServerFrame, { type: 'ack' }> & { accepted: unknown[] },
    want: Extract<Expected, { kind: 'subAck' }>,
  ) {
    const ack = frame as unknown as {
      accepted: Array<{ channel: string; offset: number; epoch: string; recovered?: boolean }>;
      rejected: Array<{ channel: string; code: string }>;
    };
    const requested = want.requested.map((r) => r.channel);
    expect([...ack.accepted.map((a) => a.channel), ...ack.rejected.map((r) => r.channel)].sort()).toEqual(
      [...requested].sort(),
    );
    for (const entry of ack.accepted) {
      if (!allowed(this.user, entry.channel)) this.fail('LEAK: accepted a forbidden channel', frame);
      const request = want.requested.find((r) => r.channel === entry.channel);
      const since = request?.since;
      if ((since === undefined) !== (entry.recovered === undefined)) this.fail('recovered iff since', frame);
      const held = this.held.get(entry.channel);
      if (since === undefined && held) {
        // Already held and live: untouched; everything up to the ack's position was already sent.
        if (held.epoch !== entry.epoch || held.last < entry.offset) {
          this.fail(`held at ${held.last} but the ack says ${entry.offset}: lost events`, frame);
        }
        continue;
      }
      if (since !== undefined) {
        // Exactly the last HISTORY_SIZE publications of the current epoch are recoverable.
        const recoverable =
          since.epoch === entry.epoch && since.offset <= entry.offset && entry.offset - since.offset <= HISTORY_SIZE;
        if (entry.recovered !== recoverable)
          this.fail(`recovered should be ${recoverable} for ${JSON.stringify(since)}`, frame);
      }
      if (entry.recovered === true) {
        if (since === undefined || since.epoch !== entry.epoch || since.offset > entry.offset) {
          this.fail('recovered from an impossible position', frame);
        }
        this.held.set(entry.channel, { epoch: entry.epoch, last: since.offset });
      } else {
        this.held.set(entry.channel, { epoch: entry.epoch, last: entry.offset });
      }
    }
    // Per channel: every mention after the first is a rejected duplicate (INVALID_MESSAGE); the first
    // is accepted when allowed, else rejected FORBIDDEN (INVALID_MESSAGE for an invalid name).
    for (const channel of new Set(requested)) {
      const mentions = requested.filter((c) => c === channel).length;
      const codes = ack.rejected.filter((r) => r.channel === channel).map((r) => r.code);
      const first = !isValidChannel(channel) ? 'INVALID_MESSAGE' : allowed(this.user, channel) ? null : 'FORBIDDEN';
      const want = [...(first === null ? [] : [first]), ...Array<string>(mentions - 1).fill('INVALID_MESSAGE')];
      if (codes.join() !== want.join()) this.fail(`${channel}: rejected ${codes} instead of ${want}`, frame);
    }
  }
}

// --- the run ---------------------------------------------------------------

let plain: Running;
let slow: Running;
const tokens = new Map<string, string>(); // `${sub}:${kind}` → token
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  plain = await startGateway({ historySize: HISTORY_SIZE });
  // The same gateway over a broker with network-like latency, so live publications
  // land while subscribes and recoveries are in flight.
  slow = await startGateway({ broker: new LatencyBroker(new MemoryBroker({ historySize: HISTORY_SIZE }), 3) });
  for (const user of USERS) {
    tokens.set(`${user.sub}:same`, await signToken({ sub: user.sub, tenant_id: user.tenant }));
    tokens.set(`${user.sub}:otherUser`, await signToken({ sub: `${user.sub}x`, tenant_id: user.tenant }));
    tokens.set(`${user.sub}:otherTenant`, await signToken({ sub: user.sub, tenant_id: `${user.tenant}x` }));
    tokens.set(
      `${user.sub}:badSignature`,
      await signToken({ sub: user.sub, tenant_id: user.tenant }, 'wrong-secret-0123456789abcdef'),
    );
    tokens.set(`${user.sub}:expired`, await signToken({ sub: user.sub, tenant_id: user.tenant, exp: now() - 3600 }));
    tokens.set(`${user.sub}:garbage`, 'not-a-credential');
  }
});
afterAll(async () => {
  await plain.close();
  await slow.close();
});

const AUTH_OUTCOME: Record<TokenKind, 'ack' | 'FORBIDDEN' | 'UNAUTHORIZED' | 'TOKEN_EXPIRED'> = {
  same: 'ack',
  otherUser: 'FORBIDDEN',
  otherTenant: 'FORBIDDEN',
  badSignature: 'UNAUTHORIZED',
  expired: 'TOKEN_EXPIRED',
  garbage: 'UNAUTHORIZED',
};

async function resolveEntry(g: Running, entry: EntrySpec): Promise<unknown> {
  if (typeof entry === 'string' || entry.since === undefined) return entry;
  const position = isValidChannel(entry.channel)
    ? await g.gateway.broker.position(entry.channel)
    : { offset: 0, epoch: 'e' };
  const epoch = entry.since.epoch === 'current' ? position.epoch : entry.since.epoch;
  return { channel: entry.channel, since: { offset: Math.max(0, position.offset + entry.since.delta), epoch } };
}

/** Sends one generated frame and records the answer the protocol requires. */
async function send(g: Running, model: Model, spec: FrameSpec): Promise<void> {
  const { client, user } = model;
  if (spec.t === 'binary') {
    client.sendBinary(spec.bytes);
    model.expected.push({ kind: 'error', code: 'INVALID_MESSAGE', id: undefined });
    return;
  }
  if (spec.t === 'auth') {
    const token = tokens.get(`${user.sub}:${spec.token}`) ?? '';
    client.send(spec.id === undefined ? { type: 'auth', token } : { type: 'auth', token, id: spec.id });
    model.expected.push({ kind: 'auth', id: spec.id, outcome: AUTH_OUTCOME[spec.token] });
    return;
  }
  let text: string;
  switch (spec.t) {
    case 'subscribe':
      text = JSON.stringify({
        type: 'subscribe',
        id: spec.id,
        channels: await Promise.all(spec.channels.map((entry) => resolveEntry(g, entry))),
      });
      break;
    case 'unsubscribe':
      text = JSON.stringify({ type: 'unsubscribe', id: spec.id, channels: spec.channels });
      break;
    case 'ping':
      text = JSON.stringify(spec.id === undefined ? { type: 'ping' } : { type: 'ping', id: spec.id });
      break;
    case 'text':
      text = spec.text;
      break;
    case 'json':
      text = JSON.stringify(spec.value) ?? 'null';
      break;
  }
  client.send(text);
  // The server sees the UTF-8 encoding of the string (lone surrogates become U+FFFD).
  const parsed = parseClientFrame(Buffer.from(text, 'utf8').toString('utf8'));
  if (!parsed.ok) {
    model.expected.push({ kind: 'error', code: parsed.code, id: parsed.id });
    return;
  }
  const frame = parsed.frame;
  switch (frame.type) {
    case 'ping':
      model.expected.push({ kind: 'pong', id: frame.id });
      return;
    case 'auth':
      // Generated auth frames with arbitrary tokens never verify.
      model.expected.push({ kind: 'auth', id: frame.id, outcome: 'UNAUTHORIZED' });
      return;
    case 'unsubscribe':
      model.expected.push({ kind: 'unsubAck', id: frame.id, channels: frame.channels });
      return;
    case 'subscribe': {
      const requested: Array<{ channel: string; since: StreamPosition | undefined }> = [];
      for (const entry of frame.channels) {
        const channel = typeof entry === 'string' ? entry : entry.channel;
        const since = typeof entry === 'string' ? undefined : entry.since;
        // The first mention of a channel is the one answered; later ones are rejected duplicates.
        requested.push({ channel, since: requested.some((r) => r.channel === channel) ? undefined : since });
      }
      model.expected.push({ kind: 'subAck', id: frame.id, requested });
      return;
    }
  }
}

async function drain(models: Model[]): Promise<void> {
  for (const model of models) for (const frame of await model.client.sync(10_000)) model.observe(frame);
}

async function runCommands(g: Running, commands: Command[]): Promise<void> {
  const models: Model[] = [];
  try {
    for (const user of USERS) {
      const { client, welcome } = await TestClient.authed(g.wsUrl, tokens.get(`${user.sub}:same`) ?? '');
      const model = new Model(user, client);
      if (welcome.type !== 'welcome') throw new Error('no welcome');
      for (const s of welcome.subscriptions) {
        if (!allowed(user, s.channel)) model.fail('LEAK: welcome subscribed a forbidden channel', welcome);
        model.held.set(s.channel, { epoch: s.epoch, last: s.offset });
      }
      models.push(model);
    }
    for (const command of commands) {
      if (command.kind === 'publish') {
        for (let i = 0; i < command.repeat; i++) {
          await g.gateway.publish({ channels: command.channels, event_type: 'p', payload: { i } });
          if (command.gapMs > 0) await new Promise((resolve) => setTimeout(resolve, command.gapMs));
        }
      } else if (command.kind === 'yield') {
        await new Promise((resolve) => setTimeout(resolve, command.ms));
      } else if (command.kind === 'race') {
        const model = models[command.client];
        if (model) await send(g, model, command.frame);
        const named = command.frame.channels.map((e) => (typeof e === 'string' ? e : e.channel));
        const channels = PUBLISHED.filter((c) => named.includes(c));
        for (let i = 0; i < command.repeat && channels.length > 0; i++) {
          await new Promise((resolve) => setTimeout(resolve, command.gapMs));
          await g.gateway.publish({ channels, event_type: 'race', payload: { i } });
        }
      } else {
        const model = models[command.client];
        if (model) await send(g, model, command.frame);
      }
    }
    // A tail of publications spread over a few milliseconds, while the server may still be
    // working through the frames sent above.
    for (let i = 0; i < 4; i++) {
      await g.gateway.publish({ channels: [...PUBLISHED], event_type: 'tail', payload: { i } });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await drain(models);
    for (const model of models) expect(model.expected).toEqual([]);
    // One more publication everywhere: every held channel must end at its latest offset.
    await g.gateway.publish({ channels: [...PUBLISHED], event_type: 'final', payload: null });
    await drain(models);
    for (const model of models) {
      expect(model.client.closed).toBeNull();
      for (const [channel, held] of model.held) {
        const position = await g.gateway.broker.position(channel);
        if (held.epoch !== position.epoch || held.last !== position.offset) {
          model.fail(`${channel} ended at ${held.last}@${held.epoch}, latest ${position.offset}@${position.epoch}`, {});
        }
      }
    }
  } finally {
    for (const model of models) model.client.ws.terminate();
  }
}

async function stillServing(g: Running): Promise<void> {
  expect((await fetch(`${g.httpUrl}/live`)).status).toBe(200);
  const { client } = await TestClient.authed(g.wsUrl, tokens.get('u1:same') ?? '');
  client.send({ type: 'ping', id: 1 });
  expect(await client.next('pong')).toEqual({ type: 'pong', id: 1 });
  client.ws.terminate();
}

// PROPERTY_RUNS=N runs N cases per property (for longer local bug hunts).
const RUNS = process.env.PROPERTY_RUNS ? Number(process.env.PROPERTY_RUNS) : undefined;
const commandsArb = fc.array(commandArb(USERS.length), { minLength: 1, maxLength: 25 });

describe('property: random frames from clients of two tenants, interleaved with publications', () => {
  it(
    'in-memory broker: no crash, no leak of another tenant’s or user’s events, no loss, no reordering',
    async () => {
      await fc.assert(
        fc.asyncProperty(commandsArb, (commands) => runCommands(plain, commands)),
        { numRuns: RUNS ?? 40, interruptAfterTimeLimit: RUNS ? 600_000 : 12_000, markInterruptAsFailure: false },
      );
      await stillServing(plain);
    },
    RUNS ? 900_000 : 30_000,
  );

  it(
    'broker with latency: the same, with publications landing during subscribes and recoveries',
    async () => {
      await fc.assert(
        fc.asyncProperty(commandsArb, (commands) => runCommands(slow, commands)),
        { numRuns: RUNS ?? 30, interruptAfterTimeLimit: RUNS ? 600_000 : 12_000, markInterruptAsFailure: false },
      );
      await stillServing(slow);
    },
    RUNS ? 900_000 : 30_000,
  );
});
