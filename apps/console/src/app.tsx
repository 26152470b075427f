import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, type ReactNode, Suspense } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { ApiError } from './api/errors.js';
import { hasRole, isAdmin, useMe } from './auth/me.js';
import { ChangePasswordPage, LoginPage } from './auth/pages.js';
import { ProtectedLayout } from './layout/layout.js';
import { AccountPage } from './pages/account.js';
import { ApiKeysPage } from './pages/apikeys.js';
import { MyPirepsPage, NewPirepPage, PirepDetailPage, ReviewQueuePage } from './pages/pireps.js';
import { TenantsPage } from './pages/tenants.js';
import { UsersPage } from './pages/users.js';
import { type Services, ServicesProvider } from './services.js';
import { Empty, Loading } from './ui/controls.js';

// The charts (uPlot) load only when a PlatformAdmin opens the operations page.
const OperationsPage = lazy(() => import('./ops/page.js').then((m) => ({ default: m.OperationsPage })));

/** The console's query client: no retry of refusals (4xx), a short retry of the rest. */
export function createQueryClient(options: { retryDelayMs?: number } = {}): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
        ...(options.retryDelayMs === undefined ? {} : { retryDelay: options.retryDelayMs }),
        staleTime: 5_000,
      },
      mutations: { retry: false },
    },
  });
}

function Home(): ReactNode {
  const { data: me } = useMe();
  const home = hasRole(me, 'PlatformAdmin') ? '/tenants' : isAdmin(me) ? '/review' : '/pireps';
  return <Navigate to={home} replace />;
}

function RequireRole({
  admin,
  platform,
  children,
}: {
  admin?: boolean;
  platform?: boolean;
  children: ReactNode;
}): ReactNode {
  const { data: me } = useMe();
  const allowed = platform ? hasRole(me, 'PlatformAdmin') : admin ? isAdmin(me) : true;
  return allowed ? children : <Empty>You are not allowed to see this page.</Empty>;
}

/** Every route of the console (inside a router: BrowserRouter in the app, MemoryRouter in tests). */
export function ConsoleRoutes(): ReactNode {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route path="/change-password" element={<ChangePasswordPage />} />
      <Route element={<ProtectedLayout />}>
        <Route index element={<Home />} />
        <Route path="pireps" element={<MyPirepsPage />} />
        <Route path="pireps/new" element={<NewPirepPage />} />
        <Route path="pireps/:id" element={<PirepDetailPage />} />
        <Route
          path="review"
          element={
            <RequireRole admin>
              <ReviewQueuePage />
            </RequireRole>
          }
        />
        <Route
          path="users"
          element={
            <RequireRole admin>
              <UsersPage />
            </RequireRole>
          }
        />
        <Route path="api-keys" element={<ApiKeysPage />} />
        <Route
          path="tenants"
          element={
            <RequireRole platform>
              <TenantsPage />
            </RequireRole>
          }
        />
        <Route
          path="operations"
          element={
            <RequireRole platform>
              <Suspense fallback={<Loading what="the operations page" />}>
                <OperationsPage />
              </Suspense>
            </RequireRole>
          }
        />
        <Route path="account" element={<AccountPage />} />
        <Route path="*" element={<Empty>This page does not exist.</Empty>} />
      </Route>
    </Routes>
  );
}

/** The console: services, query cache and routes. */
export function ConsoleApp({ services, queryClient }: { services: Services; queryClient: QueryClient }): ReactNode {
  return (
    <ServicesProvider services={services}>
      <QueryClientProvider client={queryClient}>
        <ConsoleRoutes />
      </QueryClientProvider>
    </ServicesProvider>
  );
}
