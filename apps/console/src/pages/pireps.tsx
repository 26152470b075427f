import type { InvalidationRule } from '@albatross/react/query';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useForm } from 'react-hook-form';
import { Link, useNavigate, useParams } from 'react-router';
import {
  adminChannel,
  CreatePirepRequestSchema,
  type Pirep,
  type PirepStatus,
  PlatformEventType,
  pirepChannel,
  userUpdatesChannel,
} from '../api/contract.js';
import type { PirepFilter } from '../api/endpoints.js';
import { type ApiError, fieldErrors, toApiError } from '../api/errors.js';
import { isAdmin, useMe } from '../auth/me.js';
import { useTenantScope } from '../layout/tenant-scope.js';
import { useLiveView } from '../live/live.js';
import { patchItem, useOptimistic } from '../live/optimistic.js';
import { LoadMore, PagedItems, usePagedQuery } from '../live/paged.js';
import { useServices } from '../services.js';
import { CommandError } from '../ui/command-error.js';
import { Button, ErrorAlert, formatTime, Loading, Modal, PageHeader, TextField } from '../ui/controls.js';

const PIREP_EVENTS: string[] = [
  PlatformEventType.PirepSubmitted,
  PlatformEventType.PirepAmended,
  PlatformEventType.PirepApproved,
  PlatformEventType.PirepRejected,
];

/** Every PIREP list and detail is refreshed by these (a list key is a prefix of all lists). */
function pirepRules(channel: string): InvalidationRule[] {
  return [
    { channel, events: PIREP_EVENTS, queryKey: ['pireps'] },
    {
      channel,
      events: PIREP_EVENTS,
      queryKey: ({ event }) => {
        const id = (event?.payload as { id?: string } | undefined)?.id;
        return id ? ['pirep', id] : ['pirep'];
      },
    },
  ];
}

const STATUS_STYLE: Record<PirepStatus, string> = {
  submitted: 'bg-amber-100 text-amber-950',
  approved: 'bg-green-100 text-green-950',
  rejected: 'bg-red-100 text-red-950',
};

function StatusBadge({ status }: { status: PirepStatus }): ReactNode {
  return <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${STATUS_STYLE[status]}`}>{status}</span>;
}

function PirepTable({
  pireps,
  changed,
  actions,
}: {
  pireps: Pirep[];
  changed: ReadonlySet<string>;
  actions?: (p: Pirep) => ReactNode;
}): ReactNode {
  return (
    <div className="overflow-x-auto rounded-md border border-zinc-200 bg-white">
      <table className="w-full text-left text-sm">
        <thead className="bg-zinc-100 text-zinc-800">
          <tr>
            <th scope="col" className="px-3 py-2">
              Flight
            </th>
            <th scope="col" className="px-3 py-2">
              Route
            </th>
            <th scope="col" className="hidden px-3 py-2 sm:table-cell">
              Block off
            </th>
            <th scope="col" className="px-3 py-2">
              Status
            </th>
            {actions ? (
              <th scope="col" className="px-3 py-2">
                <span className="sr-only">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {pireps.map((p) => (
            <tr
              key={p.id}
              data-testid="pirep-row"
              data-id={p.id}
              className={`border-t border-zinc-200 ${changed.has(p.id) ? 'live-highlight' : ''}`}
            >
              <td className="px-3 py-2">
                <Link to={`/pireps/${p.id}`} className="font-medium text-sky-800 underline">
                  {p.flight_number}
                </Link>
                <div className="text-xs text-zinc-600">{p.aircraft}</div>
              </td>
              <td className="px-3 py-2 font-mono whitespace-nowrap">
                {p.departure} → {p.arrival}
              </td>
              <td className="hidden px-3 py-2 sm:table-cell">{formatTime(p.block_off)}</td>
              <td className="px-3 py-2">
                <StatusBadge status={p.status} />
              </td>
              {actions ? <td className="px-3 py-2">{actions(p)}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function usePirepList(filter: PirepFilter, enabled: boolean) {
  const { api } = useServices();
  return usePagedQuery({ queryKey: ['pireps', filter], fetchPage: (cursor) => api.pireps(filter, cursor), enabled });
}

/** The pilot's own PIREPs, live on `user:{uid}:updates`. */
export function MyPirepsPage(): ReactNode {
  const { data: me } = useMe();
  const channel = me ? userUpdatesChannel(me.id) : null;
  const changed = useLiveView(channel, channel ? pirepRules(channel) : []);
  const list = usePirepList({ pilot_id: me?.id ?? '' }, me !== undefined);
  return (
    <section>
      <PageHeader title="My PIREPs">
        <Link
          to="/pireps/new"
          className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800"
        >
          File a PIREP
        </Link>
      </PageHeader>
      <PagedItems list={list} what="PIREPs" empty="You have not filed any PIREP yet.">
        {(items) => <PirepTable pireps={items} changed={changed} />}
      </PagedItems>
      <LoadMore list={list} what="PIREPs" />
    </section>
  );
}

function useReview() {
  const { api } = useServices();
  return useOptimistic({
    mutationFn: ({ pirep, decision, comment }: { pirep: Pirep; decision: 'approve' | 'reject'; comment?: string }) =>
      api.reviewPirep(pirep, decision, comment),
    keys: [['pireps'], ['pirep']],
    apply: (data, { pirep, decision, comment }) =>
      patchItem<Pirep>(data, pirep.id, (p) => ({
        ...p,
        status: decision === 'approve' ? 'approved' : 'rejected',
        review_comment: comment ?? p.review_comment ?? null,
      })),
  });
}

function ReviewDialog({
  target,
  onClose,
  onSubmit,
}: {
  target: { pirep: Pirep; decision: 'approve' | 'reject' } | null;
  onClose: () => void;
  onSubmit: (comment: string) => void;
}): ReactNode {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | undefined>();
  const reject = target?.decision === 'reject';
  return (
    <Modal
      open={target !== null}
      onClose={onClose}
      title={`${reject ? 'Reject' : 'Approve'} ${target?.pirep.flight_number ?? ''}`}
      description={reject ? 'A comment is required to reject.' : 'The comment is optional.'}
    >
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (reject && comment.trim() === '') return setError('Say why it is rejected');
          onSubmit(comment.trim());
          setComment('');
          setError(undefined);
          onClose();
        }}
        className="flex flex-col gap-3"
      >
        <TextField label="Comment" value={comment} onChange={(e) => setComment(e.target.value)} error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" variant={reject ? 'danger' : 'primary'}>
            {reject ? 'Reject' : 'Approve'}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function ReviewButtons({
  pirep,
  onPick,
}: {
  pirep: Pirep;
  onPick: (decision: 'approve' | 'reject') => void;
}): ReactNode {
  if (pirep.status !== 'submitted') return null;
  return (
    <div className="flex flex-col gap-1 sm:flex-row">
      <Button onClick={() => onPick('approve')} aria-label={`Approve ${pirep.flight_number}`}>
        Approve
      </Button>
      <Button variant="secondary" onClick={() => onPick('reject')} aria-label={`Reject ${pirep.flight_number}`}>
        Reject
      </Button>
    </div>
  );
}

/** The TenantAdmin's review queue, live on `admin:{tid}:updates`; approve/reject are optimistic. */
export function ReviewQueuePage(): ReactNode {
  const { tenantId } = useTenantScope();
  const [status, setStatus] = useState<PirepStatus | ''>('submitted');
  const channel = tenantId ? adminChannel(tenantId) : null;
  const changed = useLiveView(channel, channel ? pirepRules(channel) : []);
  const list = usePirepList({ status, tenant_id: tenantId }, tenantId !== '');
  const review = useReview();
  const [target, setTarget] = useState<{ pirep: Pirep; decision: 'approve' | 'reject' } | null>(null);
  return (
    <section>
      <PageHeader title="Review queue">
        <label className="flex items-center gap-2 text-sm">
          Status
          <select
            value={status}
            onChange={(e) => setStatus(e.target.value as PirepStatus | '')}
            className="rounded-md border border-zinc-400 bg-white px-2 py-1"
          >
            <option value="submitted">Submitted</option>
            <option value="approved">Approved</option>
            <option value="rejected">Rejected</option>
            <option value="">All</option>
          </select>
        </label>
      </PageHeader>
      <CommandError error={review.error} keys={[['pireps']]} onDismiss={review.clearError} />
      <PagedItems
        list={list}
        what="the review queue"
        empty={status === 'submitted' ? 'Nothing to review.' : 'No PIREPs here.'}
      >
        {(items) => (
          <PirepTable
            pireps={items}
            changed={changed}
            actions={(p) => <ReviewButtons pirep={p} onPick={(decision) => setTarget({ pirep: p, decision })} />}
          />
        )}
      </PagedItems>
      <LoadMore list={list} what="PIREPs" />
      <ReviewDialog
        target={target}
        onClose={() => setTarget(null)}
        onSubmit={(comment) => {
          if (target) review.mutate({ ...target, comment: comment || undefined });
        }}
      />
    </section>
  );
}

interface PirepFormValues {
  flight_number: string;
  aircraft: string;
  departure: string;
  arrival: string;
  block_off: string;
  block_on: string;
  remarks: string;
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value: string): string {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

/** File (no `pirep`) or amend a PIREP, validated by the shared `PirepRequest` schema. */
export function PirepForm({ pirep, onSaved }: { pirep?: Pirep; onSaved: (p: Pirep) => void }): ReactNode {
  const { api } = useServices();
  const queryClient = useQueryClient();
  const [error, setError] = useState<ApiError | null>(null);
  const form = useForm<PirepFormValues>({
    defaultValues: {
      flight_number: pirep?.flight_number ?? '',
      aircraft: pirep?.aircraft ?? '',
      departure: pirep?.departure ?? '',
      arrival: pirep?.arrival ?? '',
      block_off: pirep ? toLocalInput(pirep.block_off) : '',
      block_on: pirep ? toLocalInput(pirep.block_on) : '',
      remarks: pirep?.remarks ?? '',
    },
  });
  const submit = form.handleSubmit(async (values) => {
    setError(null);
    // People type codes in any case; the API wants them upper case.
    const body = {
      flight_number: values.flight_number.trim().toUpperCase(),
      aircraft: values.aircraft.trim().toUpperCase(),
      departure: values.departure.trim().toUpperCase(),
      arrival: values.arrival.trim().toUpperCase(),
      block_off: fromLocalInput(values.block_off),
      block_on: fromLocalInput(values.block_on),
      ...(values.remarks.trim() === '' ? {} : { remarks: values.remarks.trim() }),
    };
    // Every field is sent, so the full schema (with its block-time rule) applies to an amendment too.
    const parsed = CreatePirepRequestSchema.safeParse(body);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        form.setError(String(issue.path[0]) as keyof PirepFormValues, { message: issue.message });
      return;
    }
    try {
      const saved = pirep ? await api.amendPirep(pirep, parsed.data) : await api.filePirep(parsed.data);
      queryClient.setQueryData(['pirep', saved.id], saved);
      void queryClient.invalidateQueries({ queryKey: ['pireps'] });
      onSaved(saved);
    } catch (err) {
      const apiError = toApiError(err);
      for (const [field, message] of Object.entries(fieldErrors(apiError)))
        form.setError(field as keyof PirepFormValues, { message });
      setError(apiError);
    }
  });
  const e = form.formState.errors;
  return (
    <form onSubmit={submit} noValidate className="grid grid-cols-1 gap-3 sm:grid-cols-2">
      <TextField label="Flight number" error={e.flight_number?.message} {...form.register('flight_number')} />
      <TextField label="Aircraft" error={e.aircraft?.message} {...form.register('aircraft')} />
      <TextField label="Departure (ICAO)" maxLength={4} error={e.departure?.message} {...form.register('departure')} />
      <TextField label="Arrival (ICAO)" maxLength={4} error={e.arrival?.message} {...form.register('arrival')} />
      <TextField label="Block off" type="datetime-local" error={e.block_off?.message} {...form.register('block_off')} />
      <TextField label="Block on" type="datetime-local" error={e.block_on?.message} {...form.register('block_on')} />
      <TextField label="Remarks" className="sm:col-span-2" error={e.remarks?.message} {...form.register('remarks')} />
      <div className="sm:col-span-2">
        <CommandError error={error} keys={[['pirep'], ['pireps']]} onDismiss={() => setError(null)} />
      </div>
      <div className="sm:col-span-2">
        <Button type="submit" disabled={form.formState.isSubmitting}>
          {form.formState.isSubmitting ? 'Saving…' : pirep ? 'Save changes' : 'File PIREP'}
        </Button>
      </div>
    </form>
  );
}

/** `/pireps/new`. */
export function NewPirepPage(): ReactNode {
  const navigate = useNavigate();
  return (
    <section className="max-w-2xl">
      <PageHeader title="File a PIREP" />
      <PirepForm onSaved={(p) => navigate(`/pireps/${p.id}`)} />
    </section>
  );
}

/** One PIREP, live on `pirep:{id}`: its pilot amends it while submitted, an admin reviews it. */
export function PirepDetailPage(): ReactNode {
  const { id = '' } = useParams();
  const { api } = useServices();
  const { data: me } = useMe();
  const channel = pirepChannel(id);
  const changed = useLiveView(channel, [
    { channel, queryKey: ['pirep', id] },
    { channel, queryKey: ['pireps'] },
  ]);
  const query = useQuery({ queryKey: ['pirep', id], queryFn: () => api.pirep(id) });
  const review = useReview();
  const [editing, setEditing] = useState(false);
  const [target, setTarget] = useState<{ pirep: Pirep; decision: 'approve' | 'reject' } | null>(null);
  if (query.isPending) return <Loading what="the PIREP" />;
  if (query.isError)
    return (
      <ErrorAlert
        error={toApiError(query.error)}
        action={<Button onClick={() => void query.refetch()}>Retry</Button>}
      />
    );
  const p = query.data;
  const own = me?.id === p.pilot_id;
  return (
    <section className={`max-w-2xl rounded-md ${changed.has(p.id) ? 'live-highlight' : ''}`} data-testid="pirep-detail">
      <PageHeader title={`PIREP ${p.flight_number}`}>
        {own && p.status === 'submitted' && !editing ? (
          <Button variant="secondary" onClick={() => setEditing(true)}>
            Amend
          </Button>
        ) : null}
        {isAdmin(me) ? <ReviewButtons pirep={p} onPick={(decision) => setTarget({ pirep: p, decision })} /> : null}
      </PageHeader>
      <CommandError error={review.error} keys={[['pirep', id]]} onDismiss={review.clearError} />
      {editing ? (
        <PirepForm pirep={p} onSaved={() => setEditing(false)} />
      ) : (
        <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-2 rounded-md border border-zinc-200 bg-white p-4 text-sm">
          <dt className="font-medium">Status</dt>
          <dd>
            <StatusBadge status={p.status} />
          </dd>
          <dt className="font-medium">Aircraft</dt>
          <dd>{p.aircraft}</dd>
          <dt className="font-medium">Route</dt>
          <dd className="font-mono">
            {p.departure} → {p.arrival}
          </dd>
          <dt className="font-medium">Block off</dt>
          <dd>{formatTime(p.block_off)}</dd>
          <dt className="font-medium">Block on</dt>
          <dd>{formatTime(p.block_on)}</dd>
          <dt className="font-medium">Remarks</dt>
          <dd>{p.remarks || '—'}</dd>
          <dt className="font-medium">Review comment</dt>
          <dd>{p.review_comment || '—'}</dd>
          <dt className="font-medium">Version</dt>
          <dd>{p.version}</dd>
        </dl>
      )}
      <ReviewDialog
        target={target}
        onClose={() => setTarget(null)}
        onSubmit={(comment) => {
          if (target) review.mutate({ ...target, comment: comment || undefined });
        }}
      />
    </section>
  );
}
