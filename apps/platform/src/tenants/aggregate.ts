import type { Aggregate, DecidedEvent } from '@albatross/cqrs';
import { PLATFORM_TENANT_ID, PlatformEventType, TenantNameSchema } from '@albatross/platform-api';
import { AlbatrossError } from '@albatross/protocol';
import { z } from 'zod';

/** A tenant as its stream knows it. */
export interface TenantState {
  exists: boolean;
  name: string;
  status: 'active' | 'suspended';
}

export const TenantCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('create'), name: TenantNameSchema }),
  z.strictObject({ type: z.literal('rename'), name: TenantNameSchema }),
  z.strictObject({ type: z.literal('suspend') }),
  z.strictObject({ type: z.literal('reactivate') }),
]);
export type TenantCommand = z.infer<typeof TenantCommandSchema>;

/** Payloads of the tenant events. */
export type TenantEventPayload =
  | { type: 'tenant.created'; name: string }
  | { type: 'tenant.renamed'; name: string; previous_name: string }
  | { type: 'tenant.suspended' }
  | { type: 'tenant.reactivated' };

function missing(id: string): AlbatrossError {
  return new AlbatrossError('NOT_FOUND', `tenant ${id} not found`);
}

/** The tenant aggregate: created, renamed, suspended, reactivated. */
export const tenantAggregate: Aggregate<TenantState, TenantCommand> = {
  name: 'tenant',
  commandSchema: TenantCommandSchema,
  initialState: { exists: false, name: '', status: 'active' },
  // A rename or a state change checked against what the caller saw must not be re-decided silently.
  retryOnConflict: (command) => command.type !== 'create',
  decide(state, command, { id }): DecidedEvent[] {
    switch (command.type) {
      case 'create':
        if (state.exists) throw new AlbatrossError('ALREADY_EXISTS', `tenant ${id} exists`);
        return [{ type: PlatformEventType.TenantCreated, payload: { name: command.name } }];
      case 'rename':
        if (!state.exists) throw missing(id);
        if (state.name === command.name) return [];
        return [
          {
            type: PlatformEventType.TenantRenamed,
            payload: { name: command.name, previous_name: state.name },
          },
        ];
      case 'suspend':
        if (!state.exists) throw missing(id);
        // Its members are the platform admins: suspending it would lock every one of them out for good.
        if (id === PLATFORM_TENANT_ID)
          throw new AlbatrossError(
            'INVALID_STATE',
            'the platform tenant cannot be suspended: it holds the platform admins',
          );
        if (state.status === 'suspended')
          throw new AlbatrossError('INVALID_STATE', `tenant ${id} is suspended already`);
        return [{ type: PlatformEventType.TenantSuspended, payload: {} }];
      case 'reactivate':
        if (!state.exists) throw missing(id);
        if (state.status === 'active') throw new AlbatrossError('INVALID_STATE', `tenant ${id} is active already`);
        return [{ type: PlatformEventType.TenantReactivated, payload: {} }];
      default: {
        const never: never = command;
        throw new AlbatrossError('INVALID_MESSAGE', `unknown tenant command ${JSON.stringify(never)}`);
      }
    }
  },
  evolve(state, event) {
    const payload = event.payload as Record<string, unknown>;
    switch (event.type) {
      case PlatformEventType.TenantCreated:
        return { exists: true, name: String(payload.name), status: 'active' };
      case PlatformEventType.TenantRenamed:
        return { ...state, name: String(payload.name) };
      case PlatformEventType.TenantSuspended:
        return { ...state, status: 'suspended' };
      case PlatformEventType.TenantReactivated:
        return { ...state, status: 'active' };
      default:
        return state;
    }
  },
};
