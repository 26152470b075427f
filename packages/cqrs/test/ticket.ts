import { AlbatrossError } from '@albatross/protocol';
import { z } from 'zod';
import type { Aggregate, StoredEvent } from '../src/index.js';

/** A small example aggregate for the tests: a support ticket. */
export interface TicketState {
  status: 'none' | 'open' | 'closed';
  title: string;
  assignee: string | null;
  notes: number;
}

export const ticketCommand = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('open'), title: z.string().min(1).max(100) }),
  z.strictObject({ type: z.literal('assign'), assignee: z.string().min(1) }),
  z.strictObject({ type: z.literal('note'), text: z.string().min(1).max(500) }),
  z.strictObject({ type: z.literal('close'), reason: z.string().min(1) }),
]);
export type TicketCommand = z.infer<typeof ticketCommand>;

export const ticket: Aggregate<TicketState, TicketCommand> = {
  name: 'ticket',
  commandSchema: ticketCommand,
  initialState: { status: 'none', title: '', assignee: null, notes: 0 },
  decide(state, command, context) {
    switch (command.type) {
      case 'open':
        if (state.status !== 'none') throw new AlbatrossError('ALREADY_EXISTS', `ticket ${context.id} exists`);
        return [{ type: 'ticket.opened', payload: { title: command.title, opened_at: context.now.toISOString() } }];
      case 'assign':
        if (state.status !== 'open') throw new AlbatrossError('INVALID_STATE', `ticket ${context.id} is not open`);
        if (state.assignee === command.assignee) return [];
        return [{ type: 'ticket.assigned', payload: { assignee: command.assignee } }];
      case 'note':
        if (state.status !== 'open') throw new AlbatrossError('INVALID_STATE', `ticket ${context.id} is not open`);
        return [{ type: 'ticket.noted', payload: { text: command.text } }];
      case 'close':
        if (state.status !== 'open') throw new AlbatrossError('INVALID_STATE', `ticket ${context.id} is not open`);
        return [{ type: 'ticket.closed', payload: { reason: command.reason } }];
      default: {
        const never: never = command;
        throw new AlbatrossError('UNKNOWN_TYPE', `unknown ticket command ${JSON.stringify(never)}`);
      }
    }
  },
  evolve(state, event: StoredEvent) {
    const payload = event.payload as Record<string, string>;
    switch (event.type) {
      case 'ticket.opened':
        return { ...state, status: 'open', title: payload.title ?? '' };
      case 'ticket.assigned':
        return { ...state, assignee: payload.assignee ?? null };
      case 'ticket.noted':
        return { ...state, notes: state.notes + 1 };
      case 'ticket.closed':
        return { ...state, status: 'closed' };
      default:
        return state;
    }
  },
  // Closing is a decision on the state the caller saw: never re-decided.
  retryOnConflict: (command) => command.type !== 'close',
};
