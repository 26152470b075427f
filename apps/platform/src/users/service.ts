import { randomUUID } from 'node:crypto';
import { createCommandHandler, type StoredEvent } from '@albatross/cqrs';
import { EMAIL_RESERVATION_CATEGORY, type Role } from '@albatross/platform-api';
import { AlbatrossError, ErrorCode, type JsonValue } from '@albatross/protocol';
import { sha256Hex } from '../auth/authenticate.js';
import { generatePassword, hashPassword } from '../auth/passwords.js';
import type { PlatformContext } from '../context.js';
import { tenantAggregate } from '../tenants/aggregate.js';
import { userAggregate } from './aggregate.js';

/** Emails compare case-insensitively: stored and looked up in lower case. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** The stream that reserves an email (unique emails without a read-model race). */
export function emailReservationStream(email: string): string {
  return `${EMAIL_RESERVATION_CATEGORY}-${sha256Hex(normaliseEmail(email))}`;
}

/** What creating a user needs. */
export interface NewUser {
  tenantId: string;
  email: string;
  displayName: string;
  roles: Role[];
  /** Without one, a random one is made and returned, and the user must change it. */
  password?: string;
}

/** Metadata of the events a request writes. */
export interface CommandMeta {
  actorId?: string;
  tenantId?: string;
  correlationId?: string;
}

/**
 * Creates a user and reserves their email in one atomic append: two
 * creations with one email, on any nodes, cannot both succeed
 * (`ALREADY_EXISTS`). Returns the user id, the position, and the initial
 * password when one was generated. With `tenant`, the tenant's creation is
 * part of the same append (the bootstrap).
 */
export async function createUser(
  ctx: PlatformContext,
  input: NewUser,
  meta: CommandMeta,
  options: { createTenantNamed?: string } = {},
): Promise<{ id: string; position: number; initialPassword?: string; events: StoredEvent[] }> {
  const id = randomUUID();
  const email = normaliseEmail(input.email);
  const initialPassword = input.password === undefined ? generatePassword() : undefined;
  const passwordHash = await hashPassword(input.password ?? initialPassword ?? '');
  const now = ctx.now();
  const userEvents = userAggregate.decide(
    userAggregate.initialState,
    {
      type: 'create',
      tenant_id: input.tenantId,
      email,
      display_name: input.displayName,
      roles: input.roles,
      password_hash: passwordHash,
      must_change_password: input.password === undefined,
    },
    { streamId: `user-${id}`, id, version: 0, now },
  );
  const writes: { streamId: string; events: { type: string; payload: JsonValue }[]; expectedVersion: 'no_stream' }[] =
    [];
  if (options.createTenantNamed !== undefined) {
    const tenantEvents = tenantAggregate.decide(
      tenantAggregate.initialState,
      { type: 'create', name: options.createTenantNamed },
      { streamId: `tenant-${input.tenantId}`, id: input.tenantId, version: 0, now },
    );
    writes.push({ streamId: `tenant-${input.tenantId}`, events: [...tenantEvents], expectedVersion: 'no_stream' });
  }
  writes.push(
    { streamId: `user-${id}`, events: [...userEvents], expectedVersion: 'no_stream' },
    {
      streamId: emailReservationStream(email),
      events: [{ type: 'user_email.reserved', payload: { user_id: id } }],
      expectedVersion: 'no_stream',
    },
  );
  try {
    const results = await ctx.store.appendStreams(writes, {
      ...(meta.actorId === undefined ? {} : { actorId: meta.actorId }),
      tenantId: input.tenantId,
      ...(meta.correlationId === undefined ? {} : { correlationId: meta.correlationId }),
    });
    const position = Math.max(...results.map((r) => r.position));
    const events = await ctx.store.readStream(`user-${id}`);
    return { id, position, events, ...(initialPassword === undefined ? {} : { initialPassword }) };
  } catch (error) {
    if (error instanceof AlbatrossError && error.code === ErrorCode.CONCURRENCY_CONFLICT) {
      // The user id is fresh, so the reservation (or the bootstrap tenant) was taken.
      throw new AlbatrossError(ErrorCode.ALREADY_EXISTS, `a user with email ${email} exists`, { cause: error });
    }
    throw error;
  }
}

/** Command handlers of the user and tenant aggregates. */
export function handlers(ctx: PlatformContext) {
  return {
    users: createCommandHandler(ctx.store, userAggregate, { now: () => ctx.now() }),
    tenants: createCommandHandler(ctx.store, tenantAggregate, { now: () => ctx.now() }),
  };
}
