import { createClient } from '@albatross/client';
import { render } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { FakeServer, FakeSignal } from '../../../packages/client/test/support/fake-server.js';
import type { Pirep, User } from '../src/api/contract.js';
import { createApi } from '../src/api/endpoints.js';
import { HttpClient } from '../src/api/http.js';
import { SessionStore } from '../src/api/session.js';
import { ConsoleApp, createQueryClient } from '../src/app.js';

/** One recorded API call. */
export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
}

/** A route answer: status and JSON body (a fresh Response is built per call). */
export type Answer = { status: number; body?: unknown } | Promise<{ status: number; body?: unknown }>;
export type Route = (call: Call) => Answer;

export const T0 = '2026-11-30T10:00:00.000Z';

export const ADMIN: User = {
  id: 'u1',
  tenant_id: 't1',
  email: 'ann@example.test',
  display_name: 'Ann Admin',
  roles: ['TenantAdmin', 'Pilot'],
  status: 'active',
  must_change_password: false,
  version: 1,
  created_at: T0,
  updated_at: T0,
};

export function pirep(id: string, patch: Partial<Pirep> = {}): Pirep {
  return {
    id,
    tenant_id: 't1',
    pilot_id: 'u2',
    status: 'submitted',
    flight_number: `AF${id.replace(/\D/g, '') || '1'}`,
    aircraft: 'F-GKXA',
    departure: 'LFPG',
    arrival: 'EGLL',
    block_off: T0,
    block_on: '2026-11-30T11:10:00.000Z',
    remarks: null,
    review_comment: null,
    reviewed_by: null,
    reviewed_at: null,
    version: 1,
    created_at: T0,
    updated_at: T0,
    ...patch,
  };
}

export const page = <T,>(items: T[]) => ({ status: 200, body: { items, next_cursor: null } });

/**
 * Renders the whole console at `path` against a scripted HTTP API (routes by
 * "METHOD /path") and the in-process realtime server of the client's tests.
 */
export function renderConsole(
  path: string,
  routes: Record<string, Route>,
  options: { signedIn?: boolean; me?: User } = {},
) {
  const calls: Call[] = [];
  const me = options.me ?? ADMIN;
  const all: Record<string, Route> = { 'GET /api/me': () => ({ status: 200, body: me }), ...routes };
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://console.test');
    const call: Call = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    const route = all[`${call.method} ${call.path}`];
    const answer = route
      ? await route(call)
      : { status: 404, body: { code: 'NOT_FOUND', message: `no route ${call.method} ${call.path}` } };
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': 'application/json' },
    });
  }) as typeof fetch;
  const session = new SessionStore(null);
  if (options.signedIn !== false)
    session.set({
      accessToken: 'access-0',
      refreshToken: 'refresh-0',
      expiresAt: Date.now() + 900_000,
      mustChangePassword: false,
    });
  const api = createApi(new HttpClient(session, '', fetchImpl));
  const server = new FakeServer();
  server.baseline = [`user:${me.id}:updates`, `user:${me.id}:apikeys`, `tenant:${me.tenant_id}:updates`];
  const createRealtime = () =>
    createClient({
      url: 'ws://console.test/ws',
      WebSocket: server.WebSocket,
      getToken: () => api.http.accessToken(),
      network: new FakeSignal(true),
      visibility: new FakeSignal(true),
      random: () => 0.5,
      minReconnectDelayMs: 10,
      maxReconnectDelayMs: 20,
      warn: false,
    });
  const queryClient = createQueryClient({ retryDelayMs: 1 });
  const view = render(
    <MemoryRouter initialEntries={[path]}>
      <ConsoleApp
        services={{ api, session, realtimeUrl: 'ws://console.test/ws', createRealtime }}
        queryClient={queryClient}
      />
    </MemoryRouter>,
  );
  return { ...view, calls, server, session, queryClient };
}

/** Event waits: generous bounds for a busy machine; a pass returns as soon as the condition holds. */
export const WAIT = { timeout: 10_000, interval: 10 };
