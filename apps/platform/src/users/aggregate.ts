import type { Aggregate, DecidedEvent } from '@albatross/cqrs';
import {
  ApiKeyDomainEventType,
  DisplayNameSchema,
  IdSchema,
  PlatformEventType,
  RoleSchema,
} from '@albatross/platform-api';
import { AlbatrossError } from '@albatross/protocol';
import { z } from 'zod';

/** One API key as the user stream knows it (its SHA-256, never the key). */
export interface ApiKeyState {
  name: string;
  prefix: string;
  sha256: string;
  revoked: boolean;
}

/** A user as its stream knows it. API keys live here: a key never outlives its user. */
export interface UserState {
  exists: boolean;
  tenantId: string;
  email: string;
  displayName: string;
  roles: string[];
  status: 'active' | 'deactivated';
  passwordHash: string;
  mustChangePassword: boolean;
  apiKeys: Record<string, ApiKeyState>;
}

/** Most live (not revoked) API keys one user may hold. */
export const MAX_API_KEYS_PER_USER = 20;

const RolesSchema = z.array(RoleSchema).min(1);

export const UserCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('create'),
    tenant_id: IdSchema,
    email: z.string(),
    display_name: DisplayNameSchema,
    roles: RolesSchema,
    password_hash: z.string(),
    must_change_password: z.boolean(),
  }),
  z.strictObject({
    type: z.literal('update'),
    display_name: DisplayNameSchema.optional(),
    roles: RolesSchema.optional(),
  }),
  z.strictObject({ type: z.literal('change_password'), password_hash: z.string() }),
  z.strictObject({ type: z.literal('deactivate') }),
  z.strictObject({ type: z.literal('reactivate') }),
  z.strictObject({
    type: z.literal('create_apikey'),
    key_id: IdSchema,
    name: z.string(),
    prefix: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  z.strictObject({ type: z.literal('revoke_apikey'), key_id: IdSchema }),
]);
export type UserCommand = z.infer<typeof UserCommandSchema>;

const sameRoles = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** The user aggregate: profile, roles, password, status and API keys. */
export const userAggregate: Aggregate<UserState, UserCommand> = {
  name: 'user',
  commandSchema: UserCommandSchema,
  initialState: {
    exists: false,
    tenantId: '',
    email: '',
    displayName: '',
    roles: [],
    status: 'active',
    passwordHash: '',
    mustChangePassword: false,
    apiKeys: {},
  },
  decide(state, command, { id }): DecidedEvent[] {
    if (command.type === 'create') {
      if (state.exists) throw new AlbatrossError('ALREADY_EXISTS', `user ${id} exists`);
      return [
        {
          type: PlatformEventType.UserCreated,
          payload: {
            tenant_id: command.tenant_id,
            email: command.email,
            display_name: command.display_name,
            roles: [...new Set(command.roles)],
            password_hash: command.password_hash,
            must_change_password: command.must_change_password,
          },
        },
      ];
    }
    if (!state.exists) throw new AlbatrossError('NOT_FOUND', `user ${id} not found`);
    switch (command.type) {
      case 'update': {
        const payload: Record<string, string | string[]> = {};
        if (command.display_name !== undefined && command.display_name !== state.displayName) {
          payload.display_name = command.display_name;
        }
        if (command.roles !== undefined && !sameRoles(command.roles, state.roles)) {
          payload.roles = [...new Set(command.roles)];
        }
        return Object.keys(payload).length === 0 ? [] : [{ type: PlatformEventType.UserUpdated, payload }];
      }
      case 'change_password':
        return [{ type: PlatformEventType.UserPasswordChanged, payload: { password_hash: command.password_hash } }];
      case 'deactivate':
        if (state.status === 'deactivated')
          throw new AlbatrossError('INVALID_STATE', `user ${id} is deactivated already`);
        return [{ type: PlatformEventType.UserDeactivated, payload: {} }];
      case 'reactivate':
        if (state.status === 'active') throw new AlbatrossError('INVALID_STATE', `user ${id} is active already`);
        return [{ type: PlatformEventType.UserReactivated, payload: {} }];
      case 'create_apikey': {
        if (state.status !== 'active') throw new AlbatrossError('INVALID_STATE', `user ${id} is deactivated`);
        const live = Object.values(state.apiKeys).filter((key) => !key.revoked).length;
        if (live >= MAX_API_KEYS_PER_USER) {
          throw new AlbatrossError('INVALID_STATE', `user ${id} has ${MAX_API_KEYS_PER_USER} API keys already`);
        }
        if (state.apiKeys[command.key_id])
          throw new AlbatrossError('ALREADY_EXISTS', `API key ${command.key_id} exists`);
        return [
          {
            type: ApiKeyDomainEventType.Created,
            payload: { key_id: command.key_id, name: command.name, prefix: command.prefix, sha256: command.sha256 },
          },
        ];
      }
      case 'revoke_apikey': {
        const key = state.apiKeys[command.key_id];
        if (!key) throw new AlbatrossError('NOT_FOUND', `API key ${command.key_id} not found`);
        if (key.revoked) throw new AlbatrossError('INVALID_STATE', `API key ${command.key_id} is revoked already`);
        return [{ type: ApiKeyDomainEventType.Revoked, payload: { key_id: command.key_id } }];
      }
      default: {
        const never: never = command;
        throw new AlbatrossError('INVALID_MESSAGE', `unknown user command ${JSON.stringify(never)}`);
      }
    }
  },
  evolve(state, event) {
    const p = event.payload as Record<string, unknown>;
    switch (event.type) {
      case PlatformEventType.UserCreated:
        return {
          ...state,
          exists: true,
          tenantId: String(p.tenant_id),
          email: String(p.email),
          displayName: String(p.display_name),
          roles: p.roles as string[],
          passwordHash: String(p.password_hash),
          mustChangePassword: p.must_change_password === true,
        };
      case PlatformEventType.UserUpdated:
        return {
          ...state,
          ...(typeof p.display_name === 'string' ? { displayName: p.display_name } : {}),
          ...(Array.isArray(p.roles) ? { roles: p.roles as string[] } : {}),
        };
      case PlatformEventType.UserPasswordChanged:
        return { ...state, passwordHash: String(p.password_hash), mustChangePassword: false };
      case PlatformEventType.UserDeactivated: {
        // Deactivating revokes every key: they stay revoked after a reactivation.
        const apiKeys = Object.fromEntries(
          Object.entries(state.apiKeys).map(([keyId, key]) => [keyId, { ...key, revoked: true }]),
        );
        return { ...state, status: 'deactivated', apiKeys };
      }
      case PlatformEventType.UserReactivated:
        return { ...state, status: 'active' };
      case ApiKeyDomainEventType.Created:
        return {
          ...state,
          apiKeys: {
            ...state.apiKeys,
            [String(p.key_id)]: {
              name: String(p.name),
              prefix: String(p.prefix),
              sha256: String(p.sha256),
              revoked: false,
            },
          },
        };
      case ApiKeyDomainEventType.Revoked: {
        const key = state.apiKeys[String(p.key_id)];
        return key ? { ...state, apiKeys: { ...state.apiKeys, [String(p.key_id)]: { ...key, revoked: true } } } : state;
      }
      default:
        return state;
    }
  },
};
