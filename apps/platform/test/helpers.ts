import { randomBytes } from 'node:crypto';
import { openEventStore, type SqlEventStore } from '@albatross/cqrs';
import type { CreatedUser, Role, Tenant, TokenResponse } from '@albatross/platform-api';
import { silentLogger } from '@albatross/server';
import { type Platform, type PlatformOptions, startPlatform } from '../src/index.js';

/** A database of its own for one test file (one helper for every platform test). */
export { createDatabase as createTestDatabase } from './support/services.js';

/** An answer: status, headers and parsed JSON body (null when empty). */
export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A small HTTP client of one platform node. */
export class Api {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  as(token: string): Api {
    return new Api(this.url, token);
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text === '' ? null : JSON.parse(text)) as T };
  }

  get<T = unknown>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body, headers);
  }
  patch<T = unknown>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('PATCH', path, body, headers);
  }
  delete<T = unknown>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, undefined, headers);
  }
}

/** A long random password (tests grep for secrets: they must be long and random). */
export function strongPassword(): string {
  return `pw-${randomBytes(18).toString('base64url')}`;
}

/** One platform node on a shared in-memory store, with its admin logged in and past the password change. */
export interface TestPlatform {
  platform: Platform;
  store: SqlEventStore;
  anon: Api;
  admin: Api;
  adminPassword: string;
  close(): Promise<void>;
}

/** Starts a platform on a fresh in-memory PGlite store (one per test file: it takes seconds). */
export async function startTestPlatform(options: Partial<PlatformOptions> = {}): Promise<TestPlatform> {
  const store = options.store ?? (await openEventStore({ url: 'memory://' }));
  const platform = await startPlatform({ port: 0, logger: silentLogger, ...options, store });
  const anon = new Api(platform.url);
  const boot = platform.bootstrap;
  if (!boot) throw new Error('expected a bootstrap on a fresh store');
  const first = await anon.post<TokenResponse>('/api/auth/login', { email: boot.email, password: boot.password });
  const adminPassword = strongPassword();
  const changed = await anon
    .as(first.body.access_token)
    .post<TokenResponse>('/api/me/password', { current_password: boot.password, new_password: adminPassword });
  if (changed.status !== 200) throw new Error(`password change failed: ${JSON.stringify(changed.body)}`);
  return {
    platform,
    store,
    anon,
    admin: anon.as(changed.body.access_token),
    adminPassword,
    async close() {
      await platform.close();
      if (!options.store) await store.close();
    },
  };
}

let counter = 0;
/** A unique email for this run. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${counter}-${randomBytes(4).toString('hex')}@example.com`;
}

/** Creates a tenant as `admin`. */
export async function createTenant(admin: Api, name = `tenant ${randomBytes(3).toString('hex')}`): Promise<Tenant> {
  const answer = await admin.post<Tenant>('/api/tenants', { name });
  if (answer.status !== 201) throw new Error(`create tenant: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** Creates a user with a password and logs them in. */
export async function createUserAndLogin(
  admin: Api,
  tenantId: string,
  roles: Role[],
): Promise<{ user: CreatedUser; api: Api; password: string; tokens: TokenResponse }> {
  const password = strongPassword();
  const email = uniqueEmail(roles[0]?.toLowerCase());
  const created = await admin.post<CreatedUser>(`/api/tenants/${tenantId}/users`, {
    email,
    display_name: `${roles.join('+')} ${counter}`,
    roles,
    password,
  });
  if (created.status !== 201) throw new Error(`create user: ${created.status} ${JSON.stringify(created.body)}`);
  const login = await new Api(admin.url).post<TokenResponse>('/api/auth/login', { email, password });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${JSON.stringify(login.body)}`);
  return { user: created.body, api: admin.as(login.body.access_token), password, tokens: login.body };
}
