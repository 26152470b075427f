import { IdSchema } from '@albatross/platform-api';
import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import type { DisconnectRequest, LiveConnection } from '../api/contract.js';
import type { ConnectionFilter } from '../api/endpoints.js';
import { toApiError } from '../api/errors.js';
import { LoadMore, usePagedQuery } from '../live/paged.js';
import { useServices } from '../services.js';
import { Button, ConfirmDialog, Empty, ErrorAlert, formatTime, Loading, TextField } from '../ui/controls.js';

/** How often the registry is read again while shown, ms (connections come and go without an event). */
export const REGISTRY_POLL_MS = 3000;

/** The filter form: each field empty (no filter) or an id, as the API's own schema says. */
const FilterFormSchema = z.object({
  tenant_id: z.union([z.literal(''), IdSchema]),
  user_id: z.union([z.literal(''), IdSchema]),
});
type FilterForm = z.infer<typeof FilterFormSchema>;

/** What a confirmed disconnect closes, and how the dialog names it. */
interface PendingDisconnect {
  request: DisconnectRequest;
  title: string;
}

function filterOf(values: FilterForm): ConnectionFilter {
  return {
    ...(values.tenant_id ? { tenant_id: values.tenant_id } : {}),
    ...(values.user_id ? { user_id: values.user_id } : {}),
  };
}

/**
 * The gateway's connection registry (the node that answers), filtered by
 * tenant and user, refreshed every {@link REGISTRY_POLL_MS} ms; each row
 * or the whole filtered set can be disconnected (on every node) after a
 * confirmation.
 */
export function ConnectionRegistry(): ReactNode {
  const { api } = useServices();
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState<ConnectionFilter>({});
  const [pending, setPending] = useState<PendingDisconnect | null>(null);
  const form = useForm<FilterForm>({
    resolver: zodResolver(FilterFormSchema),
    defaultValues: { tenant_id: '', user_id: '' },
  });
  const list = usePagedQuery({
    queryKey: ['ops', 'connections', filter],
    fetchPage: (cursor) => api.connections(filter, cursor),
    refetchInterval: REGISTRY_POLL_MS,
  });
  const disconnect = useMutation({
    mutationFn: (request: DisconnectRequest) => api.disconnect(request),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['ops', 'connections'] }),
  });
  const filtered = filter.tenant_id !== undefined || filter.user_id !== undefined;
  const apply = form.handleSubmit((values) => setFilter(filterOf(values)));

  return (
    <section aria-labelledby="ops-connections" className="mt-6">
      <h2 id="ops-connections" className="mb-2 text-lg font-semibold">
        Live connections
      </h2>
      <form onSubmit={apply} noValidate className="mb-3 flex flex-wrap items-end gap-2">
        <TextField
          label="Tenant id"
          className="min-w-40 flex-1"
          error={form.formState.errors.tenant_id?.message}
          {...form.register('tenant_id')}
        />
        <TextField
          label="User id"
          className="min-w-40 flex-1"
          error={form.formState.errors.user_id?.message}
          {...form.register('user_id')}
        />
        <Button type="submit" variant="secondary">
          Filter
        </Button>
        <Button
          variant="danger"
          disabled={!filtered}
          title={filtered ? undefined : 'Filter by tenant or user first'}
          onClick={() =>
            setPending({
              request: filter,
              title: `Disconnect every connection of ${[
                filter.tenant_id ? `tenant ${filter.tenant_id}` : null,
                filter.user_id ? `user ${filter.user_id}` : null,
              ]
                .filter(Boolean)
                .join(' and ')}?`,
            })
          }
        >
          Disconnect all matching
        </Button>
      </form>
      {disconnect.isError ? <ErrorAlert error={toApiError(disconnect.error)} /> : null}
      {disconnect.isSuccess ? (
        <p role="status" className="mb-2 text-sm text-green-800">
          Disconnected {disconnect.data.disconnected} connection(s) on this node; other nodes close theirs too.
        </p>
      ) : null}
      {list.isPending ? (
        <Loading what="the live connections" />
      ) : list.isError ? (
        <ErrorAlert
          error={toApiError(list.error)}
          action={<Button onClick={() => void list.refetch()}>Retry</Button>}
        />
      ) : list.data.items.length === 0 ? (
        <Empty>{filtered ? 'No live connection matches these filters.' : 'No live connection on this node.'}</Empty>
      ) : (
        <ConnectionTable
          rows={list.data.items}
          onDisconnect={(c) =>
            setPending({
              request: { connection_id: c.connection_id },
              title: `Disconnect connection ${c.connection_id}?`,
            })
          }
        />
      )}
      <LoadMore list={list} what="connections" />
      <ConfirmDialog
        open={pending !== null}
        title={pending?.title ?? ''}
        description="The client is closed with 4003 and must authenticate again to reconnect; a revoked credential cannot."
        confirmLabel="Disconnect"
        onConfirm={() => {
          if (pending) disconnect.mutate(pending.request);
        }}
        onClose={() => setPending(null)}
      />
    </section>
  );
}

function ConnectionTable({
  rows,
  onDisconnect,
}: {
  rows: readonly LiveConnection[];
  onDisconnect: (c: LiveConnection) => void;
}): ReactNode {
  return (
    // `relative`: the screen-reader-only caption and header are positioned absolutely; without it they
    // escape the scrolling box and widen the whole page on a phone.
    <div className="relative overflow-x-auto rounded-md border border-zinc-200 bg-white">
      <table className="min-w-full text-left text-sm">
        <caption className="sr-only">Live WebSocket connections</caption>
        <thead className="bg-zinc-50 text-xs text-zinc-700">
          <tr>
            <th scope="col" className="px-3 py-2">
              Connection
            </th>
            <th scope="col" className="px-3 py-2">
              Tenant
            </th>
            <th scope="col" className="px-3 py-2">
              User
            </th>
            <th scope="col" className="px-3 py-2">
              Credential
            </th>
            <th scope="col" className="px-3 py-2 text-right">
              Subscriptions
            </th>
            <th scope="col" className="px-3 py-2">
              Since
            </th>
            <th scope="col" className="px-3 py-2">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200">
          {rows.map((c) => (
            <tr key={c.connection_id} data-testid="connection-row" data-id={c.connection_id}>
              <td className="px-3 py-2 font-mono text-xs">{c.connection_id}</td>
              <td className="px-3 py-2 font-mono text-xs">{c.tenant_id ?? '—'}</td>
              <td className="px-3 py-2 font-mono text-xs">{c.user_id ?? '—'}</td>
              <td className="px-3 py-2">{c.credential ?? c.state}</td>
              <td className="px-3 py-2 text-right">{c.subscriptions}</td>
              <td className="px-3 py-2 text-xs">{formatTime(c.connected_at)}</td>
              <td className="px-3 py-2 text-right">
                <Button
                  variant="danger"
                  onClick={() => onDisconnect(c)}
                  aria-label={`Disconnect ${c.connection_id}`}
                  disabled={c.state !== 'open'}
                >
                  Disconnect
                </Button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
