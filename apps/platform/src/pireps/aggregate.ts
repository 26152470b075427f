import type { Aggregate, DecidedEvent, StoredEvent } from '@albatross/cqrs';
import {
  ApprovePirepRequestSchema,
  blockTimesProblem,
  CreatePirepRequestSchema,
  IdSchema,
  type PirepStatus,
  PlatformEventType,
  RejectPirepRequestSchema,
  StreamCategory,
  UpdatePirepRequestSchema,
} from '@albatross/platform-api';
import { AlbatrossError, type JsonValue } from '@albatross/protocol';
import { z } from 'zod';

/** The fields a pilot files and may amend while the PIREP is `submitted`. */
export const PIREP_FIELDS = [
  'flight_number',
  'aircraft',
  'departure',
  'arrival',
  'block_off',
  'block_on',
  'remarks',
] as const;
export type PirepField = (typeof PIREP_FIELDS)[number];

/** State of one PIREP, rebuilt from its stream. */
export interface PirepState {
  exists: boolean;
  tenantId: string;
  pilotId: string;
  fields: {
    flight_number: string;
    aircraft: string;
    departure: string;
    arrival: string;
    block_off: string;
    block_on: string;
    remarks: string | null;
  };
  status: PirepStatus;
  reviewComment: string | null;
  reviewedBy: string | null;
  reviewedAt: string | null;
}

/*
 * Commands. Who may run them (owning pilot, tenant admins) is the RBAC
 * module's and the route's business; the aggregate keeps the domain rules:
 * the life cycle (only a `submitted` PIREP is amended or reviewed) and the
 * block times of the merged PIREP.
 */
const SubmitCommand = z.object({
  kind: z.literal('submit'),
  tenant_id: IdSchema,
  pilot_id: IdSchema,
  report: CreatePirepRequestSchema,
});
const AmendCommand = z.object({ kind: z.literal('amend'), changes: UpdatePirepRequestSchema });
const ApproveCommand = z.object({
  kind: z.literal('approve'),
  reviewer_id: IdSchema,
  review: ApprovePirepRequestSchema,
});
const RejectCommand = z.object({ kind: z.literal('reject'), reviewer_id: IdSchema, review: RejectPirepRequestSchema });

export const PirepCommandSchema = z.discriminatedUnion('kind', [
  SubmitCommand,
  AmendCommand,
  ApproveCommand,
  RejectCommand,
]);
export type PirepCommand = z.infer<typeof PirepCommandSchema>;

/**
 * Payloads of the PIREP events. Every one carries `tenant_id` and
 * `pilot_id`, so the realtime projection routes an event without a read.
 */
export interface PirepSubmittedPayload {
  tenant_id: string;
  pilot_id: string;
  flight_number: string;
  aircraft: string;
  departure: string;
  arrival: string;
  block_off: string;
  block_on: string;
  remarks: string | null;
  status: 'submitted';
}
export interface PirepAmendedPayload {
  tenant_id: string;
  pilot_id: string;
  /** Only the fields that changed, with their new values. */
  changes: Partial<PirepSubmittedPayload>;
}
export interface PirepReviewedPayload {
  tenant_id: string;
  pilot_id: string;
  status: 'approved' | 'rejected';
  reviewer_id: string;
  comment: string | null;
}

const initialState: PirepState = {
  exists: false,
  tenantId: '',
  pilotId: '',
  fields: {
    flight_number: '',
    aircraft: '',
    departure: '',
    arrival: '',
    block_off: '',
    block_on: '',
    remarks: null,
  },
  status: 'submitted',
  reviewComment: null,
  reviewedBy: null,
  reviewedAt: null,
};

function notFound(id: string): AlbatrossError {
  return new AlbatrossError('NOT_FOUND', `PIREP ${id} not found`);
}

function requireSubmitted(state: PirepState, id: string, action: string): void {
  if (state.status !== 'submitted') {
    throw new AlbatrossError(
      'INVALID_STATE',
      `PIREP ${id} is ${state.status}: only a submitted PIREP can be ${action}`,
      {
        details: { status: state.status },
      },
    );
  }
}

function decide(state: PirepState, command: PirepCommand, context: { id: string }): readonly DecidedEvent[] {
  switch (command.kind) {
    case 'submit': {
      if (state.exists) throw new AlbatrossError('ALREADY_EXISTS', `PIREP ${context.id} exists already`);
      const report = command.report;
      const payload: PirepSubmittedPayload = {
        tenant_id: command.tenant_id,
        pilot_id: command.pilot_id,
        flight_number: report.flight_number,
        aircraft: report.aircraft,
        departure: report.departure,
        arrival: report.arrival,
        block_off: new Date(report.block_off).toISOString(),
        block_on: new Date(report.block_on).toISOString(),
        remarks: report.remarks ?? null,
        status: 'submitted',
      };
      return [{ type: PlatformEventType.PirepSubmitted, payload: payload as unknown as JsonValue }];
    }
    case 'amend': {
      if (!state.exists) throw notFound(context.id);
      requireSubmitted(state, context.id, 'amended');
      const changes: Record<string, string | null> = {};
      for (const field of PIREP_FIELDS) {
        const raw = command.changes[field];
        if (raw === undefined) continue;
        const value = field === 'block_off' || field === 'block_on' ? new Date(raw).toISOString() : raw;
        if (state.fields[field] !== value) changes[field] = value;
      }
      const merged = { ...state.fields, ...changes };
      const problem = blockTimesProblem(merged.block_off as string, merged.block_on as string);
      if (problem) {
        throw new AlbatrossError('INVALID_MESSAGE', `invalid PIREP: block_on: ${problem}`, {
          details: { issues: [{ path: 'block_on', message: problem }] },
        });
      }
      if (Object.keys(changes).length === 0) return []; // nothing changes: no event, no notification
      const payload: PirepAmendedPayload = { tenant_id: state.tenantId, pilot_id: state.pilotId, changes };
      return [{ type: PlatformEventType.PirepAmended, payload: payload as unknown as JsonValue }];
    }
    case 'approve':
    case 'reject': {
      if (!state.exists) throw notFound(context.id);
      requireSubmitted(state, context.id, command.kind === 'approve' ? 'approved' : 'rejected');
      const payload: PirepReviewedPayload = {
        tenant_id: state.tenantId,
        pilot_id: state.pilotId,
        status: command.kind === 'approve' ? 'approved' : 'rejected',
        reviewer_id: command.reviewer_id,
        comment: command.review.comment ?? null,
      };
      return [
        {
          type: command.kind === 'approve' ? PlatformEventType.PirepApproved : PlatformEventType.PirepRejected,
          payload: payload as unknown as JsonValue,
        },
      ];
    }
    default: {
      const unexpected: never = command;
      throw new AlbatrossError('INVALID_MESSAGE', `unknown PIREP command ${JSON.stringify(unexpected)}`);
    }
  }
}

function evolve(state: PirepState, event: StoredEvent): PirepState {
  switch (event.type) {
    case PlatformEventType.PirepSubmitted: {
      const p = event.payload as unknown as PirepSubmittedPayload;
      return {
        ...initialState,
        exists: true,
        tenantId: p.tenant_id,
        pilotId: p.pilot_id,
        fields: {
          flight_number: p.flight_number,
          aircraft: p.aircraft,
          departure: p.departure,
          arrival: p.arrival,
          block_off: p.block_off,
          block_on: p.block_on,
          remarks: p.remarks,
        },
      };
    }
    case PlatformEventType.PirepAmended: {
      const p = event.payload as unknown as PirepAmendedPayload;
      return { ...state, fields: { ...state.fields, ...(p.changes as Partial<PirepState['fields']>) } };
    }
    case PlatformEventType.PirepApproved:
    case PlatformEventType.PirepRejected: {
      const p = event.payload as unknown as PirepReviewedPayload;
      return {
        ...state,
        status: p.status,
        reviewComment: p.comment,
        reviewedBy: p.reviewer_id,
        reviewedAt: event.recordedAt,
      };
    }
    default:
      return state; // an event type of a later version: nothing this code knows to change
  }
}

/**
 * The PIREP aggregate (streams `pirep-{id}`): submitted by a pilot, amended
 * by them while `submitted`, then approved or rejected once. Of two
 * reviews racing, the loser's append conflicts and is re-decided on the
 * fresher state, where it answers 409 INVALID_STATE: never two reviews.
 */
export const pirepAggregate: Aggregate<PirepState, PirepCommand> = {
  name: StreamCategory.Pirep,
  commandSchema: PirepCommandSchema as z.ZodType<PirepCommand>,
  initialState,
  decide,
  evolve,
};

/** Every PIREP event type. */
export const PIREP_EVENT_TYPES = [
  PlatformEventType.PirepSubmitted,
  PlatformEventType.PirepAmended,
  PlatformEventType.PirepApproved,
  PlatformEventType.PirepRejected,
] as const;
