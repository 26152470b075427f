import { zodResolver } from '@hookform/resolvers/zod';
import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useForm } from 'react-hook-form';
import {
  type CreateTenantRequest,
  CreateTenantRequestSchema,
  PLATFORM_TENANTS_CHANNEL,
  type Tenant,
} from '../api/contract.js';
import { type ApiError, toApiError } from '../api/errors.js';
import { useTenantScope } from '../layout/tenant-scope.js';
import { useLiveView } from '../live/live.js';
import { patchItem, useOptimistic } from '../live/optimistic.js';
import { LoadMore, PagedItems, usePagedQuery } from '../live/paged.js';
import { useServices } from '../services.js';
import { CommandError } from '../ui/command-error.js';
import { Button, ConfirmDialog, ErrorAlert, Modal, PageHeader, TextField } from '../ui/controls.js';

function NameDialog({
  open,
  title,
  initial,
  submitLabel,
  onClose,
  onSubmit,
}: {
  open: boolean;
  title: string;
  initial: string;
  submitLabel: string;
  onClose: () => void;
  onSubmit: (name: string) => Promise<void>;
}): ReactNode {
  const [error, setError] = useState<ApiError | null>(null);
  const form = useForm<CreateTenantRequest>({
    resolver: zodResolver(CreateTenantRequestSchema),
    values: { name: initial },
  });
  const submit = form.handleSubmit(async ({ name }) => {
    setError(null);
    try {
      await onSubmit(name);
      form.reset();
      onClose();
    } catch (err) {
      setError(toApiError(err));
    }
  });
  return (
    <Modal open={open} onClose={onClose} title={title}>
      <form onSubmit={submit} noValidate className="flex flex-col gap-3">
        <TextField label="Tenant name" error={form.formState.errors.name?.message} {...form.register('name')} />
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={form.formState.isSubmitting}>
            {submitLabel}
          </Button>
        </div>
      </form>
    </Modal>
  );
}

/** PlatformAdmin: every tenant, live on `platform:tenants`. */
export function TenantsPage(): ReactNode {
  const { api } = useServices();
  const queryClient = useQueryClient();
  const { setTenantId } = useTenantScope();
  const changed = useLiveView(PLATFORM_TENANTS_CHANNEL, [{ channel: PLATFORM_TENANTS_CHANNEL, queryKey: ['tenants'] }]);
  const list = usePagedQuery({ queryKey: ['tenants'], fetchPage: (cursor) => api.tenants(cursor) });
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<Tenant | null>(null);
  const [toggling, setToggling] = useState<Tenant | null>(null);
  const toggle = useOptimistic({
    mutationFn: (t: Tenant) => api.setTenantSuspended(t, t.status === 'active'),
    keys: [['tenants']],
    apply: (data, t) =>
      patchItem<Tenant>(data, t.id, (x) => ({ ...x, status: x.status === 'active' ? 'suspended' : 'active' })),
  });
  return (
    <section>
      <PageHeader title="Tenants">
        <Button onClick={() => setCreating(true)}>Create tenant</Button>
      </PageHeader>
      <CommandError error={toggle.error} keys={[['tenants']]} onDismiss={toggle.clearError} />
      <PagedItems list={list} what="tenants" empty="No tenant yet.">
        {(items) => (
          <ul className="divide-y divide-zinc-200 rounded-md border border-zinc-200 bg-white">
            {items.map((t) => (
              <li
                key={t.id}
                data-testid="tenant-row"
                data-id={t.id}
                className={`flex flex-wrap items-center gap-2 px-3 py-2 ${changed.has(t.id) ? 'live-highlight' : ''}`}
              >
                <p className="min-w-0 basis-full font-medium sm:basis-0 sm:flex-1">{t.name}</p>
                <span
                  className={`rounded-full px-2 py-0.5 text-xs ${t.status === 'active' ? 'bg-green-100 text-green-950' : 'bg-red-100 text-red-950'}`}
                >
                  {t.status}
                </span>
                <Button variant="secondary" onClick={() => setTenantId(t.id)} aria-label={`Switch to ${t.name}`}>
                  Switch to
                </Button>
                <Button variant="secondary" onClick={() => setRenaming(t)} aria-label={`Rename ${t.name}`}>
                  Rename
                </Button>
                {t.id === 'platform' ? null : (
                  <Button
                    variant={t.status === 'active' ? 'danger' : 'secondary'}
                    onClick={() => setToggling(t)}
                    aria-label={`${t.status === 'active' ? 'Suspend' : 'Reactivate'} ${t.name}`}
                  >
                    {t.status === 'active' ? 'Suspend' : 'Reactivate'}
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </PagedItems>
      <LoadMore list={list} what="tenants" />
      <NameDialog
        open={creating}
        title="Create a tenant"
        initial=""
        submitLabel="Create tenant"
        onClose={() => setCreating(false)}
        onSubmit={async (name) => {
          await api.createTenant(name);
          void queryClient.invalidateQueries({ queryKey: ['tenants'] });
        }}
      />
      <NameDialog
        open={renaming !== null}
        title={`Rename ${renaming?.name ?? ''}`}
        initial={renaming?.name ?? ''}
        submitLabel="Rename"
        onClose={() => setRenaming(null)}
        onSubmit={async (name) => {
          if (renaming) await api.renameTenant(renaming, name);
          void queryClient.invalidateQueries({ queryKey: ['tenants'] });
        }}
      />
      <ConfirmDialog
        open={toggling !== null}
        title={toggling?.status === 'active' ? `Suspend ${toggling?.name}?` : `Reactivate ${toggling?.name ?? ''}?`}
        description={
          toggling?.status === 'active'
            ? 'Its users can no longer sign in, its API keys are refused and its live connections close.'
            : 'Its users can sign in again.'
        }
        confirmLabel={toggling?.status === 'active' ? 'Suspend' : 'Reactivate'}
        onConfirm={() => {
          if (toggling) toggle.mutate(toggling);
        }}
        onClose={() => setToggling(null)}
      />
    </section>
  );
}
