import { zodResolver } from '@hookform/resolvers/zod';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { useForm } from 'react-hook-form';
import { useSearchParams } from 'react-router';
import {
  type ApiKey,
  adminChannel,
  type CreateApiKeyRequest,
  CreateApiKeyRequestSchema,
  type CreatedApiKey,
  PlatformEventType,
  userApiKeysChannel,
} from '../api/contract.js';
import { type ApiError, toApiError } from '../api/errors.js';
import { useMe } from '../auth/me.js';
import { useLiveView } from '../live/live.js';
import { patchItem, useOptimistic } from '../live/optimistic.js';
import { LoadMore, PagedItems, usePagedQuery } from '../live/paged.js';
import { useServices } from '../services.js';
import { CommandError } from '../ui/command-error.js';
import {
  Button,
  ConfirmDialog,
  CopyOnceDialog,
  ErrorAlert,
  formatTime,
  PageHeader,
  TextField,
} from '../ui/controls.js';

const APIKEY_EVENTS: string[] = [PlatformEventType.ApiKeyCreated, PlatformEventType.ApiKeyRevoked];

/**
 * API keys of the signed-in user (live on `user:{uid}:apikeys`), or with
 * `?user=<id>` of a user an admin manages (live on `admin:{tid}:updates`).
 * A new key is shown once.
 */
export function ApiKeysPage(): ReactNode {
  const { api } = useServices();
  const { data: me } = useMe();
  const queryClient = useQueryClient();
  const [params] = useSearchParams();
  const other = params.get('user');
  const managed = other !== null && other !== me?.id;
  const owner = useQuery({
    queryKey: ['user', other],
    queryFn: () => api.user(other ?? ''),
    enabled: managed,
  });
  const uid = managed ? (other ?? '') : (me?.id ?? '');
  const channel = managed
    ? owner.data
      ? adminChannel(owner.data.tenant_id)
      : null
    : uid
      ? userApiKeysChannel(uid)
      : null;
  const changed = useLiveView(
    channel,
    channel ? [{ channel, events: managed ? APIKEY_EVENTS : undefined, queryKey: ['apikeys', uid] }] : [],
  );
  const list = usePagedQuery({
    queryKey: ['apikeys', uid],
    fetchPage: (cursor) => api.apiKeys(uid, cursor),
    enabled: uid !== '',
  });
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [createError, setCreateError] = useState<ApiError | null>(null);
  const form = useForm<CreateApiKeyRequest>({
    resolver: zodResolver(CreateApiKeyRequestSchema),
    defaultValues: { name: '' },
  });
  const revoke = useOptimistic({
    mutationFn: (key: ApiKey) => api.revokeApiKey(uid, key.id),
    keys: [['apikeys', uid]],
    apply: (data, key) =>
      patchItem<ApiKey>(data, key.id, (k) => ({ ...k, revoked_at: k.revoked_at ?? new Date().toISOString() })),
  });
  const submit = form.handleSubmit(async (values) => {
    setCreateError(null);
    try {
      const key = await api.createApiKey(uid, values);
      form.reset();
      setCreated(key);
      void queryClient.invalidateQueries({ queryKey: ['apikeys', uid] });
    } catch (err) {
      setCreateError(toApiError(err));
    }
  });
  return (
    <section>
      <PageHeader title={managed ? `API keys of ${owner.data?.display_name ?? '…'}` : 'API keys'} />
      {managed && owner.isError ? <ErrorAlert error={toApiError(owner.error)} /> : null}
      <form onSubmit={submit} noValidate className="mb-4 flex flex-wrap items-end gap-2">
        <TextField
          label="New key name"
          className="min-w-48 flex-1"
          error={form.formState.errors.name?.message}
          {...form.register('name')}
        />
        <Button type="submit" disabled={!uid || form.formState.isSubmitting}>
          Generate key
        </Button>
      </form>
      <ErrorAlert error={createError} />
      <CommandError error={revoke.error} keys={[['apikeys', uid]]} onDismiss={revoke.clearError} />
      <PagedItems list={list} what="API keys" empty="No API key yet.">
        {(items) => (
          <ul className="divide-y divide-zinc-200 rounded-md border border-zinc-200 bg-white">
            {items.map((k) => (
              <li
                key={k.id}
                data-testid="apikey-row"
                data-id={k.id}
                className={`flex flex-wrap items-center gap-2 px-3 py-2 ${changed.has(k.id) ? 'live-highlight' : ''}`}
              >
                <div className="min-w-0 basis-full sm:basis-0 sm:flex-1">
                  <p className="font-medium">{k.name}</p>
                  <p className="font-mono text-sm text-zinc-700">{k.prefix}…</p>
                </div>
                <p className="text-xs text-zinc-700">
                  Created {formatTime(k.created_at)} · last used {formatTime(k.last_used_at)}
                </p>
                {k.revoked_at ? (
                  <span className="rounded-full bg-zinc-200 px-2 py-0.5 text-xs">revoked</span>
                ) : (
                  <Button variant="danger" onClick={() => setRevoking(k)} aria-label={`Revoke ${k.name}`}>
                    Revoke
                  </Button>
                )}
              </li>
            ))}
          </ul>
        )}
      </PagedItems>
      <LoadMore list={list} what="API keys" />
      <CopyOnceDialog
        open={created !== null}
        title={`API key ${created?.name ?? ''}`}
        label="API key"
        secret={created?.key ?? ''}
        onClose={() => setCreated(null)}
      />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking?.name ?? ''}?`}
        description="Every request and live connection using this key is refused from now on. This cannot be undone."
        confirmLabel="Revoke"
        onConfirm={() => {
          if (revoking) revoke.mutate(revoking);
        }}
        onClose={() => setRevoking(null)}
      />
    </section>
  );
}
