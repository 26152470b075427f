import { Type } from '@sinclair/typebox';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  type AlbatrossClient,
  type ChannelPattern,
  createClient,
  type EventMapFromSchemas,
  type RealtimeEvent,
  type Subscription,
} from '../src/index.js';

type AppEvents = {
  'tenant:{tenantId}:updates': {
    'user.created': { id: string; name: string };
    'user.deleted': { id: string };
  };
  'user:{userId}:notifications': {
    'notification.new': { text: string; read: boolean };
  };
};

declare const client: AlbatrossClient<AppEvents>;

describe('typed event map', () => {
  it('turns channel patterns into template literal types', () => {
    expectTypeOf<ChannelPattern<'tenant:{tenantId}:updates'>>().toEqualTypeOf<`tenant:${string}:updates`>();
    expectTypeOf<ChannelPattern<'a:{x}:{y}'>>().toEqualTypeOf<`a:${string}:${string}`>();
    expectTypeOf<ChannelPattern<'plain:name'>>().toEqualTypeOf<'plain:name'>();
  });

  it('types a subscription from the channel it is given', () => {
    const sub = client.subscribe('tenant:t1:updates');
    expectTypeOf(sub).toEqualTypeOf<Subscription<AppEvents['tenant:{tenantId}:updates']>>();
    sub.on('event', (event) => {
      expectTypeOf(event.event_type).toEqualTypeOf<'user.created' | 'user.deleted'>();
      if (event.event_type === 'user.created')
        expectTypeOf(event.payload).toEqualTypeOf<{ id: string; name: string }>();
      else expectTypeOf(event.payload).toEqualTypeOf<{ id: string }>();
    });
    sub.onEvent('user.deleted', (payload, event) => {
      expectTypeOf(payload).toEqualTypeOf<{ id: string }>();
      expectTypeOf(event).toEqualTypeOf<RealtimeEvent<'user.deleted', { id: string }>>();
    });
    const tenantId: string = 't1';
    expectTypeOf(client.subscribe(`user:${tenantId}:notifications`)).toEqualTypeOf<
      Subscription<AppEvents['user:{userId}:notifications']>
    >();
  });

  it('rejects unknown channels and event types', () => {
    // @ts-expect-error not a channel of the map
    client.subscribe('campaign:7:updates');
    // @ts-expect-error not an event type of this channel
    client.subscribe('tenant:t1:updates').onEvent('notification.new', () => {});
    client.subscribe('tenant:t1:updates').onEvent('user.created', (payload) => {
      // @ts-expect-error payload has no such field
      payload.email;
    });
  });

  it('stays permissive without a map', () => {
    const untyped = createClient({ url: 'ws://x/ws', getToken: () => 't' });
    const sub = untyped.subscribe('anything:goes');
    sub.on('event', (event) => {
      expectTypeOf(event.event_type).toEqualTypeOf<string>();
      expectTypeOf(event.payload).toEqualTypeOf<unknown>();
    });
  });

  it('infers the map from zod and TypeBox schemas, type-only', () => {
    const schemas = {
      'tenant:{tenantId}:updates': {
        'user.created': z.object({ id: z.string(), age: z.number().optional() }),
        'user.tagged': Type.Object({ id: Type.String(), tags: Type.Array(Type.String()) }),
      },
    };
    type Events = EventMapFromSchemas<typeof schemas>;
    const typed = createClient<Events>({ url: 'ws://x/ws', getToken: () => 't' });
    typed.subscribe('tenant:t9:updates').onEvent('user.created', (payload) => {
      expectTypeOf(payload).toEqualTypeOf<{ id: string; age?: number | undefined }>();
    });
    typed.subscribe('tenant:t9:updates').onEvent('user.tagged', (payload) => {
      expectTypeOf(payload).toEqualTypeOf<{ id: string; tags: string[] }>();
    });
  });
});
