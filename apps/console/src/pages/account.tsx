import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { userUpdatesChannel } from '../api/contract.js';
import { type ApiError, toApiError } from '../api/errors.js';
import { meKey, useMe } from '../auth/me.js';
import { PasswordForm } from '../auth/pages.js';
import { useLiveView } from '../live/live.js';
import { useServices } from '../services.js';
import { Button, ErrorAlert, Loading, PageHeader, TextField } from '../ui/controls.js';

/** Own profile (display name) and password; live on `user:{uid}:updates`. */
export function AccountPage(): ReactNode {
  const { api } = useServices();
  const me = useMe();
  const queryClient = useQueryClient();
  const channel = me.data ? userUpdatesChannel(me.data.id) : null;
  const changed = useLiveView(channel, channel ? [{ channel, queryKey: meKey }] : []);
  const [name, setName] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState('');
  if (me.isPending) return <Loading what="your profile" />;
  if (me.isError) return <ErrorAlert error={toApiError(me.error)} />;
  const user = me.data;
  return (
    <section className="grid max-w-3xl grid-cols-1 gap-6 md:grid-cols-2">
      <div className={`rounded-md border border-zinc-200 bg-white p-4 ${changed.has(user.id) ? 'live-highlight' : ''}`}>
        <PageHeader title="My account" />
        <dl className="mb-4 text-sm">
          <dt className="font-medium">Email</dt>
          <dd className="mb-2">{user.email}</dd>
          <dt className="font-medium">Roles</dt>
          <dd className="mb-2">{user.roles.join(', ')}</dd>
          <dt className="font-medium">Tenant</dt>
          <dd>{user.tenant_id}</dd>
        </dl>
        <form
          noValidate
          className="flex flex-col gap-3"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            setSaved('');
            try {
              const next = await api.updateUser(user, { display_name: (name ?? user.display_name).trim() });
              queryClient.setQueryData(meKey, next);
              setName(null);
              setSaved('Saved.');
            } catch (err) {
              setError(toApiError(err));
            }
          }}
        >
          <TextField label="Display name" value={name ?? user.display_name} onChange={(e) => setName(e.target.value)} />
          <ErrorAlert error={error} />
          <p role="status" className="text-sm text-green-800">
            {saved}
          </p>
          <Button type="submit">Save profile</Button>
        </form>
      </div>
      <div className="rounded-md border border-zinc-200 bg-white p-4">
        <h2 className="mb-3 text-lg font-semibold">Password</h2>
        <PasswordForm onDone={() => setSaved('Password changed.')} />
      </div>
    </section>
  );
}
