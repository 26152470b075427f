import type {
  ApiKey,
  ChangePasswordRequest,
  CreateApiKeyRequest,
  CreatedApiKey,
  CreatedUser,
  CreatePirepRequest,
  CreateUserRequest,
  DisconnectRequest,
  DisconnectResponse,
  LiveConnection,
  LoginRequest,
  Me,
  Page,
  Pirep,
  PirepStatus,
  ProjectionList,
  RebuildResult,
  Role,
  Tenant,
  TokenResponse,
  UpdatePirepRequest,
  UpdateUserRequest,
  User,
} from './contract.js';
import type { HttpClient } from './http.js';

/** Filters of the users list. */
export interface UserFilter {
  tenant_id?: string;
  role?: Role | '';
  q?: string;
  status?: 'active' | 'deactivated' | '';
}

/** Filters of the PIREP list. */
export interface PirepFilter {
  status?: PirepStatus | '';
  pilot_id?: string;
  tenant_id?: string;
}

/** Filters of the connection registry. */
export interface ConnectionFilter {
  tenant_id?: string;
  user_id?: string;
}

const LIMIT = 200;

/** Every endpoint of the platform HTTP API the console calls, typed. */
export function createApi(http: HttpClient) {
  const r = http.request.bind(http);
  return {
    http,
    login: (body: LoginRequest) => r<TokenResponse>('/api/auth/login', { method: 'POST', body, anonymous: true }),
    logout: (refreshToken: string) =>
      r<void>('/api/auth/logout', { method: 'POST', body: { refresh_token: refreshToken } }),
    me: () => r<Me>('/api/me'),
    /** Answers a fresh token pair: the platform revokes every other refresh token of the user. */
    changePassword: (body: ChangePasswordRequest) => r<TokenResponse>('/api/me/password', { method: 'POST', body }),

    tenants: (cursor?: string) => r<Page<Tenant>>('/api/tenants', { query: { limit: LIMIT, cursor } }),
    tenant: (id: string) => r<Tenant>(`/api/tenants/${encodeURIComponent(id)}`),
    createTenant: (name: string) => r<Tenant>('/api/tenants', { method: 'POST', body: { name } }),
    renameTenant: (t: Tenant, name: string) =>
      r<Tenant>(`/api/tenants/${encodeURIComponent(t.id)}`, { method: 'PATCH', body: { name }, version: t.version }),
    setTenantSuspended: (t: Tenant, suspended: boolean) =>
      r<Tenant>(`/api/tenants/${encodeURIComponent(t.id)}/${suspended ? 'suspend' : 'reactivate'}`, {
        method: 'POST',
        version: t.version,
      }),

    users: (filter: UserFilter, cursor?: string) =>
      r<Page<User>>('/api/users', { query: { ...filter, limit: LIMIT, cursor } }),
    user: (id: string) => r<User>(`/api/users/${encodeURIComponent(id)}`),
    createUser: (tenantId: string, body: CreateUserRequest) =>
      r<CreatedUser>(`/api/tenants/${encodeURIComponent(tenantId)}/users`, { method: 'POST', body }),
    updateUser: (u: User, body: UpdateUserRequest) =>
      r<User>(`/api/users/${encodeURIComponent(u.id)}`, { method: 'PATCH', body, version: u.version }),
    setUserActive: (u: User, active: boolean) =>
      r<User>(`/api/users/${encodeURIComponent(u.id)}/${active ? 'reactivate' : 'deactivate'}`, {
        method: 'POST',
        version: u.version,
      }),

    apiKeys: (userId: string, cursor?: string) =>
      r<Page<ApiKey>>(`/api/users/${encodeURIComponent(userId)}/apikeys`, { query: { limit: LIMIT, cursor } }),
    createApiKey: (userId: string, body: CreateApiKeyRequest) =>
      r<CreatedApiKey>(`/api/users/${encodeURIComponent(userId)}/apikeys`, { method: 'POST', body }),
    revokeApiKey: (userId: string, keyId: string) =>
      r<void>(`/api/users/${encodeURIComponent(userId)}/apikeys/${encodeURIComponent(keyId)}`, { method: 'DELETE' }),

    pireps: (filter: PirepFilter, cursor?: string) =>
      r<Page<Pirep>>('/api/pireps', { query: { ...filter, limit: LIMIT, cursor } }),
    pirep: (id: string) => r<Pirep>(`/api/pireps/${encodeURIComponent(id)}`),
    filePirep: (body: CreatePirepRequest) => r<Pirep>('/api/pireps', { method: 'POST', body }),
    amendPirep: (p: Pirep, body: UpdatePirepRequest) =>
      r<Pirep>(`/api/pireps/${encodeURIComponent(p.id)}`, { method: 'PATCH', body, version: p.version }),
    reviewPirep: (p: Pirep, decision: 'approve' | 'reject', comment?: string) =>
      r<Pirep>(`/api/pireps/${encodeURIComponent(p.id)}/${decision}`, {
        method: 'POST',
        body: comment ? { comment } : {},
        version: p.version,
      }),

    connections: (filter: ConnectionFilter, cursor?: string) =>
      r<Page<LiveConnection>>('/api/admin/connections', { query: { ...filter, limit: LIMIT, cursor } }),
    disconnect: (body: DisconnectRequest) =>
      r<DisconnectResponse>('/api/admin/connections/disconnect', { method: 'POST', body }),
    projections: () => r<ProjectionList>('/api/admin/projections'),
    rebuildProjection: (name: string) =>
      r<RebuildResult>(`/api/admin/projections/${encodeURIComponent(name)}/rebuild`, { method: 'POST' }),
  };
}

/** The typed API of the console. */
export type Api = ReturnType<typeof createApi>;
