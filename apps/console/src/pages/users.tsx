import { zodResolver } from '@hookform/resolvers/zod';
import { useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { Controller, type Resolver, useForm } from 'react-hook-form';
import { Link } from 'react-router';
import {
  adminChannel,
  type CreatedUser,
  type CreateUserRequest,
  CreateUserRequestSchema,
  ROLES,
  type Role,
  type User,
} from '../api/contract.js';
import { type ApiError, fieldErrors, toApiError } from '../api/errors.js';
import { hasRole, useMe } from '../auth/me.js';
import { useTenantScope } from '../layout/tenant-scope.js';
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
  Modal,
  PageHeader,
  SelectField,
  TextField,
} from '../ui/controls.js';

/** Roles a viewer may grant: only a PlatformAdmin grants PlatformAdmin. */
function grantable(me: User | undefined): readonly Role[] {
  return hasRole(me, 'PlatformAdmin') ? ROLES : ROLES.filter((r) => r !== 'PlatformAdmin');
}

function RoleChecks({
  value,
  onChange,
  roles,
  error,
}: {
  value: Role[];
  onChange: (roles: Role[]) => void;
  roles: readonly Role[];
  error?: string | undefined;
}): ReactNode {
  return (
    <fieldset className="flex flex-col gap-1">
      <legend className="text-sm font-medium">Roles</legend>
      <div className="flex flex-wrap gap-3">
        {roles.map((role) => (
          <label key={role} className="flex items-center gap-1 text-sm">
            <input
              type="checkbox"
              checked={value.includes(role)}
              onChange={(e) => onChange(e.target.checked ? [...value, role] : value.filter((r) => r !== role))}
            />
            {role}
          </label>
        ))}
      </div>
      {error ? <p className="text-xs text-red-700">{error}</p> : null}
    </fieldset>
  );
}

function CreateUserDialog({
  open,
  tenantId,
  onClose,
  onCreated,
}: {
  open: boolean;
  tenantId: string;
  onClose: () => void;
  onCreated: (user: CreatedUser) => void;
}): ReactNode {
  const { api } = useServices();
  const { data: me } = useMe();
  const queryClient = useQueryClient();
  const [error, setError] = useState<ApiError | null>(null);
  const form = useForm<CreateUserRequest>({
    // The shared RoleSchema is declared as ZodType<Role> (input `unknown`); the form's values are Role[] already.
    resolver: zodResolver(CreateUserRequestSchema) as unknown as Resolver<CreateUserRequest>,
    defaultValues: { email: '', display_name: '', roles: ['Pilot'] },
  });
  const submit = form.handleSubmit(async (values) => {
    setError(null);
    try {
      const created = await api.createUser(tenantId, values);
      void queryClient.invalidateQueries({ queryKey: ['users'] });
      form.reset();
      onCreated(created);
    } catch (err) {
      const apiError = toApiError(err);
      for (const [field, message] of Object.entries(fieldErrors(apiError)))
        form.setError(field as keyof CreateUserRequest, { message });
      setError(apiError);
    }
  });
  const e = form.formState.errors;
  return (
    <Modal
      open={open}
      onClose={onClose}
      title="Create a user"
      description="Without a password, a one-time password is generated; the user changes it at first sign-in."
    >
      <form onSubmit={submit} noValidate className="flex flex-col gap-3">
        <TextField label="Email" type="email" error={e.email?.message} {...form.register('email')} />
        <TextField label="Display name" error={e.display_name?.message} {...form.register('display_name')} />
        <Controller
          control={form.control}
          name="roles"
          render={({ field }) => (
            <RoleChecks value={field.value} onChange={field.onChange} roles={grantable(me)} error={e.roles?.message} />
          )}
        />
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={form.formState.isSubmitting}>
            Create user
          </Button>
        </div>
      </form>
    </Modal>
  );
}

function EditRolesDialog({
  user,
  onClose,
  onSave,
}: {
  user: User | null;
  onClose: () => void;
  onSave: (user: User, roles: Role[]) => void;
}): ReactNode {
  const { data: me } = useMe();
  const [roles, setRoles] = useState<Role[] | null>(null);
  const value = roles ?? user?.roles ?? [];
  const close = () => {
    setRoles(null);
    onClose();
  };
  return (
    <Modal open={user !== null} onClose={close} title={`Roles of ${user?.display_name ?? ''}`}>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (user && value.length > 0) onSave(user, value);
          close();
        }}
        className="flex flex-col gap-3"
      >
        <RoleChecks
          value={value}
          onChange={setRoles}
          roles={grantable(me)}
          error={value.length === 0 ? 'Pick at least one role' : undefined}
        />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={close}>
            Cancel
          </Button>
          <Button type="submit" disabled={value.length === 0}>
            Save roles
          </Button>
        </div>
      </form>
    </Modal>
  );
}

/** Users of the scoped tenant, filtered by role, status and text; live on `admin:{tid}:updates`. */
export function UsersPage(): ReactNode {
  const { api } = useServices();
  const { tenantId } = useTenantScope();
  const [role, setRole] = useState<Role | ''>('');
  const [status, setStatus] = useState<'active' | 'deactivated' | ''>('');
  const [q, setQ] = useState('');
  const channel = tenantId ? adminChannel(tenantId) : null;
  const changed = useLiveView(channel, channel ? [{ channel, queryKey: ['users'] }] : []);
  const filter = { tenant_id: tenantId, role, status, q: q.trim() };
  const list = usePagedQuery({
    queryKey: ['users', filter],
    fetchPage: (cursor) => api.users(filter, cursor),
    enabled: tenantId !== '',
  });
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedUser | null>(null);
  const [editing, setEditing] = useState<User | null>(null);
  const [toggling, setToggling] = useState<User | null>(null);
  const update = useOptimistic({
    mutationFn: ({ user, roles }: { user: User; roles: Role[] }) => api.updateUser(user, { roles }),
    keys: [['users']],
    apply: (data, { user, roles }) => patchItem<User>(data, user.id, (u) => ({ ...u, roles })),
  });
  const toggle = useOptimistic({
    mutationFn: (user: User) => api.setUserActive(user, user.status !== 'active'),
    keys: [['users']],
    apply: (data, user) =>
      patchItem<User>(data, user.id, (u) => ({ ...u, status: u.status === 'active' ? 'deactivated' : 'active' })),
  });
  const commandError = update.error ?? toggle.error;
  return (
    <section>
      <PageHeader title="Users">
        <Button onClick={() => setCreating(true)} disabled={!tenantId}>
          Create user
        </Button>
      </PageHeader>
      <div className="mb-3 grid grid-cols-1 gap-2 sm:grid-cols-3">
        <TextField label="Search" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        <SelectField label="Role" value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
          <option value="">All roles</option>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Status"
          value={status}
          onChange={(e) => setStatus(e.target.value as 'active' | 'deactivated' | '')}
        >
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="deactivated">Deactivated</option>
        </SelectField>
      </div>
      <CommandError
        error={commandError}
        keys={[['users']]}
        onDismiss={() => {
          update.clearError();
          toggle.clearError();
        }}
      />
      <PagedItems list={list} what="users" empty="No user matches.">
        {(items) => (
          <ul className="divide-y divide-zinc-200 rounded-md border border-zinc-200 bg-white">
            {items.map((u) => (
              <li
                key={u.id}
                data-testid="user-row"
                data-id={u.id}
                className={`flex flex-wrap items-center gap-2 px-3 py-2 ${changed.has(u.id) ? 'live-highlight' : ''}`}
              >
                <div className="min-w-0 basis-full sm:basis-0 sm:flex-1">
                  <p className="font-medium">{u.display_name}</p>
                  <p className="truncate text-sm text-zinc-700">{u.email}</p>
                </div>
                <p className="text-sm">{u.roles.join(', ')}</p>
                <span
                  className={`rounded-full px-2 py-0.5 text-xs ${u.status === 'active' ? 'bg-green-100 text-green-950' : 'bg-zinc-200 text-zinc-900'}`}
                >
                  {u.status}
                </span>
                <Link
                  to={`/api-keys?user=${encodeURIComponent(u.id)}`}
                  className="rounded-md px-3 py-1.5 text-sm text-sky-800 underline"
                  aria-label={`API keys of ${u.email}`}
                >
                  Keys
                </Link>
                <Button variant="secondary" onClick={() => setEditing(u)} aria-label={`Edit roles of ${u.email}`}>
                  Roles
                </Button>
                <Button
                  variant={u.status === 'active' ? 'danger' : 'secondary'}
                  onClick={() => setToggling(u)}
                  aria-label={`${u.status === 'active' ? 'Deactivate' : 'Reactivate'} ${u.email}`}
                >
                  {u.status === 'active' ? 'Deactivate' : 'Reactivate'}
                </Button>
              </li>
            ))}
          </ul>
        )}
      </PagedItems>
      <LoadMore list={list} what="users" />
      <CreateUserDialog
        open={creating}
        tenantId={tenantId}
        onClose={() => setCreating(false)}
        onCreated={(user) => {
          setCreating(false);
          if (user.initial_password) setCreated(user);
        }}
      />
      <CopyOnceDialog
        open={created !== null}
        title={`User ${created?.email ?? ''} created`}
        label="One-time password"
        secret={created?.initial_password ?? ''}
        onClose={() => setCreated(null)}
      />
      <EditRolesDialog
        user={editing}
        onClose={() => setEditing(null)}
        onSave={(user, roles) => update.mutate({ user, roles })}
      />
      <ConfirmDialog
        open={toggling !== null}
        title={
          toggling?.status === 'active' ? `Deactivate ${toggling?.email}?` : `Reactivate ${toggling?.email ?? ''}?`
        }
        description={
          toggling?.status === 'active'
            ? 'Their live connections close at once, and their sessions and API keys stop working.'
            : 'They can sign in again.'
        }
        confirmLabel={toggling?.status === 'active' ? 'Deactivate' : 'Reactivate'}
        onConfirm={() => {
          if (toggling) toggle.mutate(toggling);
        }}
        onClose={() => setToggling(null)}
      />
    </section>
  );
}
