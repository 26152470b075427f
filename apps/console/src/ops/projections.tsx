import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import type { ProjectionStatus } from '../api/contract.js';
import { toApiError } from '../api/errors.js';
import { useServices } from '../services.js';
import { Button, ConfirmDialog, Empty, ErrorAlert, formatTime, Loading } from '../ui/controls.js';

/** How often the projections' status is read again while shown, ms. */
export const PROJECTIONS_POLL_MS = 3000;

/**
 * Each projection's position, lag behind the store's head and parked
 * events (with their errors), refreshed every {@link PROJECTIONS_POLL_MS}
 * ms; read models can be rebuilt after a confirmation. The realtime
 * projections have no rebuild button: they publish, and must never replay.
 */
export function ProjectionsPanel(): ReactNode {
  const { api } = useServices();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState<ProjectionStatus | null>(null);
  const list = useQuery({
    queryKey: ['ops', 'projections'],
    queryFn: () => api.projections(),
    refetchInterval: PROJECTIONS_POLL_MS,
  });
  const rebuild = useMutation({
    mutationFn: (name: string) => api.rebuildProjection(name),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['ops', 'projections'] }),
  });

  return (
    <section aria-labelledby="ops-projections" className="mt-6">
      <h2 id="ops-projections" className="mb-2 text-lg font-semibold">
        Projections
      </h2>
      {rebuild.isError ? <ErrorAlert error={toApiError(rebuild.error)} /> : null}
      {rebuild.isPending ? (
        <p role="status" className="mb-2 text-sm text-zinc-700">
          Rebuilding {rebuild.variables}… the current read model keeps serving until the swap.
        </p>
      ) : rebuild.isSuccess ? (
        <p role="status" className="mb-2 text-sm text-green-800">
          Rebuilt {rebuild.data.name}: {rebuild.data.applied} event(s) applied up to position {rebuild.data.position}
          {rebuild.data.parked > 0 ? `, ${rebuild.data.parked} parked` : ''}.
        </p>
      ) : null}
      {list.isPending ? (
        <Loading what="the projections" />
      ) : list.isError ? (
        <ErrorAlert
          error={toApiError(list.error)}
          action={<Button onClick={() => void list.refetch()}>Retry</Button>}
        />
      ) : list.data.items.length === 0 ? (
        <Empty>No projection has run yet.</Empty>
      ) : (
        <ul className="divide-y divide-zinc-200 rounded-md border border-zinc-200 bg-white">
          {list.data.items.map((p) => (
            <li key={p.name} data-testid="projection-row" data-name={p.name} className="px-3 py-2">
              <div className="flex flex-wrap items-center gap-x-4 gap-y-1">
                <p className="min-w-40 flex-1 font-mono text-sm font-medium">{p.name}</p>
                <dl className="flex flex-wrap gap-x-4 text-sm">
                  <Figure label="Status" value={p.status} />
                  <Figure label="Position" value={String(p.position)} />
                  <Figure label="Lag" value={String(p.lag)} warn={p.lag > 0} />
                  <Figure label="Parked" value={String(p.parked)} warn={p.parked > 0} />
                </dl>
                {p.rebuildable ? (
                  <Button
                    variant="secondary"
                    disabled={rebuild.isPending}
                    onClick={() => setConfirming(p)}
                    aria-label={`Rebuild ${p.name}`}
                  >
                    Rebuild
                  </Button>
                ) : (
                  <span className="text-xs text-zinc-700">never replayed</span>
                )}
              </div>
              {p.last_error ? <p className="mt-1 text-xs text-red-800">Last error: {p.last_error}</p> : null}
              {p.parked_events.length > 0 ? (
                <details className="mt-1 text-xs">
                  <summary className="cursor-pointer">
                    Parked events{p.parked > p.parked_events.length ? ` (oldest ${p.parked_events.length})` : ''}
                  </summary>
                  <ul className="mt-1 space-y-1">
                    {p.parked_events.map((e) => (
                      <li key={e.position} className="font-mono">
                        #{e.position} {e.type} on {e.stream_id} ({e.attempts} attempts, {formatTime(e.parked_at)}):{' '}
                        <span className="text-red-800">{e.error}</span>
                      </li>
                    ))}
                  </ul>
                </details>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <ConfirmDialog
        open={confirming !== null}
        title={`Rebuild ${confirming?.name ?? ''}?`}
        description="Replays every event into fresh tables, then swaps them in. The current read model keeps serving meanwhile; a large store takes a while."
        confirmLabel="Rebuild"
        onConfirm={() => {
          if (confirming) rebuild.mutate(confirming.name);
        }}
        onClose={() => setConfirming(null)}
      />
    </section>
  );
}

function Figure({ label, value, warn = false }: { label: string; value: string; warn?: boolean }): ReactNode {
  return (
    <div className="flex gap-1">
      <dt className="text-zinc-700">{label}</dt>
      <dd className={warn ? 'font-semibold text-amber-800' : 'font-medium'}>{value}</dd>
    </div>
  );
}
