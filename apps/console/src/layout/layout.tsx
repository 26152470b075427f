import { ConnectionIndicator, RealtimeProvider } from '@albatross/react';
import { Menu, MenuButton, MenuItem, MenuItems } from '@headlessui/react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useId, useState } from 'react';
import { Navigate, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { PLATFORM_TENANTS_CHANNEL } from '../api/contract.js';
import { toApiError } from '../api/errors.js';
import { createRealtime } from '../api/realtime.js';
import { hasRole, isAdmin, useMe } from '../auth/me.js';
import { RefreshingBanner, useLiveView } from '../live/live.js';
import { useServices, useTokens } from '../services.js';
import { Button, ErrorAlert, Loading } from '../ui/controls.js';
import { TenantScopeProvider, useTenantScope } from './tenant-scope.js';

/** The realtime connection of the signed-in session, open while the layout is mounted. */
function RealtimeSession({ children }: { children: ReactNode }): ReactNode {
  const services = useServices();
  const [client] = useState(
    () => services.createRealtime?.() ?? createRealtime(services.api.http, services.realtimeUrl),
  );
  useEffect(() => {
    client.connect();
    return () => client.disconnect();
  }, [client]);
  return <RealtimeProvider client={client}>{children}</RealtimeProvider>;
}

const SWITCHER_RULES = [{ channel: PLATFORM_TENANTS_CHANNEL, queryKey: ['tenants'] }];

function TenantSwitcher(): ReactNode {
  const { api } = useServices();
  const { tenantId, setTenantId } = useTenantScope();
  const tenants = useQuery({ queryKey: ['tenants'], queryFn: () => api.tenants() });
  // A tenant created or renamed elsewhere shows up in the switcher at once.
  useLiveView(PLATFORM_TENANTS_CHANNEL, SWITCHER_RULES);
  const id = useId();
  return (
    <div className="flex items-center gap-1 text-sm">
      <label htmlFor={id} className="sr-only sm:not-sr-only">
        Tenant
      </label>
      <select
        id={id}
        value={tenantId}
        onChange={(e) => setTenantId(e.target.value)}
        className="max-w-40 rounded-md border border-zinc-400 bg-white px-1 py-1 text-sm"
      >
        {(tenants.data?.items ?? []).map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
        {tenants.data ? null : <option value={tenantId}>…</option>}
      </select>
    </div>
  );
}

function navClass({ isActive }: { isActive: boolean }): string {
  return `whitespace-nowrap rounded-md px-2 py-1 text-sm ${isActive ? 'bg-sky-100 font-semibold text-sky-900' : 'text-zinc-800 hover:bg-zinc-100'}`;
}

function Header(): ReactNode {
  const { api, session } = useServices();
  const { data: me } = useMe();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const logout = async () => {
    const tokens = session.get();
    if (tokens) await api.logout(tokens.refreshToken).catch(() => undefined);
    session.set(null);
    queryClient.clear();
    navigate('/login', { replace: true });
  };
  return (
    <header className="border-b border-zinc-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-2">
        <NavLink to="/" className="font-semibold text-sky-900">
          Albatross
        </NavLink>
        <nav aria-label="Main" className="order-last flex w-full gap-1 overflow-x-auto sm:order-none sm:w-auto">
          <NavLink to="/pireps" className={navClass}>
            PIREPs
          </NavLink>
          {isAdmin(me) ? (
            <>
              <NavLink to="/review" className={navClass}>
                Review
              </NavLink>
              <NavLink to="/users" className={navClass}>
                Users
              </NavLink>
            </>
          ) : null}
          <NavLink to="/api-keys" className={navClass}>
            API keys
          </NavLink>
          {hasRole(me, 'PlatformAdmin') ? (
            <>
              <NavLink to="/tenants" className={navClass}>
                Tenants
              </NavLink>
              <NavLink to="/operations" className={navClass}>
                Operations
              </NavLink>
            </>
          ) : null}
        </nav>
        <div className="ml-auto flex min-w-0 flex-wrap items-center justify-end gap-2">
          <ConnectionIndicator />
          {hasRole(me, 'PlatformAdmin') ? <TenantSwitcher /> : null}
          <Menu>
            <MenuButton className="rounded-md px-2 py-1 text-sm ring-1 ring-zinc-300 hover:bg-zinc-50">
              {me?.display_name ?? 'Account'}
            </MenuButton>
            <MenuItems
              anchor="bottom end"
              className="z-40 mt-1 w-44 rounded-md bg-white p-1 shadow-lg ring-1 ring-zinc-200"
            >
              <MenuItem>
                <NavLink to="/account" className="block rounded px-2 py-1 text-sm data-focus:bg-zinc-100">
                  My account
                </NavLink>
              </MenuItem>
              <MenuItem>
                <button
                  type="button"
                  onClick={() => void logout()}
                  className="block w-full rounded px-2 py-1 text-left text-sm data-focus:bg-zinc-100"
                >
                  Sign out
                </button>
              </MenuItem>
            </MenuItems>
          </Menu>
        </div>
      </div>
    </header>
  );
}

function Shell(): ReactNode {
  const me = useMe();
  if (me.isPending) return <Loading what="your profile" />;
  if (me.isError)
    return (
      <main className="p-4">
        <ErrorAlert error={toApiError(me.error)} action={<Button onClick={() => void me.refetch()}>Retry</Button>} />
      </main>
    );
  return (
    <TenantScopeProvider initial={me.data.tenant_id}>
      <Header />
      <RefreshingBanner />
      <main className="mx-auto max-w-6xl px-4 py-4">
        <Outlet />
      </main>
    </TenantScopeProvider>
  );
}

/** Every signed-in page: requires a session without a pending password change, and opens the realtime connection. */
export function ProtectedLayout(): ReactNode {
  const tokens = useTokens();
  const location = useLocation();
  if (!tokens) return <Navigate to="/login" replace state={{ from: location.pathname }} />;
  if (tokens.mustChangePassword) return <Navigate to="/change-password" replace />;
  return (
    <RealtimeSession>
      <Shell />
    </RealtimeSession>
  );
}
