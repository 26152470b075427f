import type { TokenResponse } from './contract.js';
import { ApiError, errorFromResponse, toApiError } from './errors.js';
import type { SessionStore, Tokens } from './session.js';

/** Options of one request. */
export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** Sent as `If-Match: "<version>"` (optimistic concurrency). */
  version?: number;
  query?: Record<string, string | number | undefined | null>;
  /** No bearer token (login, refresh). */
  anonymous?: boolean;
  signal?: AbortSignal;
}

/** Refresh this long before the access token expires, ms. */
const REFRESH_MARGIN_MS = 60_000;

/**
 * The HTTP side of the console: bearer auth from the {@link SessionStore},
 * one refresh in flight at a time (refresh tokens rotate, so two concurrent
 * refreshes would revoke the family), a retry after a 401 when a refresh
 * succeeds, and every failure normalised into an {@link ApiError}.
 */
export class HttpClient {
  private refreshing: Promise<Tokens> | null = null;

  constructor(
    readonly session: SessionStore,
    private readonly baseUrl = '',
    private readonly fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args),
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid access token, refreshed first when it expires within `marginMs`. */
  async accessToken(marginMs = REFRESH_MARGIN_MS): Promise<string> {
    const tokens = this.session.get();
    if (!tokens) throw new ApiError('UNAUTHORIZED', 'Not signed in.', 401);
    if (tokens.expiresAt - this.now() > marginMs) return tokens.accessToken;
    return (await this.refresh()).accessToken;
  }

  /** Rotates the refresh token; a failure ends the session. Concurrent callers share one call. */
  refresh(): Promise<Tokens> {
    if (this.refreshing) return this.refreshing;
    const current = this.session.get();
    if (!current) return Promise.reject(new ApiError('UNAUTHORIZED', 'Not signed in.', 401));
    this.refreshing = this.send<TokenResponse>('/api/auth/refresh', {
      method: 'POST',
      body: { refresh_token: current.refreshToken },
      anonymous: true,
    })
      .then((answer) => this.session.setFromResponse(answer, this.now()))
      .catch((error: unknown) => {
        const apiError = toApiError(error);
        // Only a definite refusal ends the session; a network failure may pass.
        if (apiError.status === 401 || apiError.status === 403) this.session.set(null);
        throw apiError;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** GETs a plain-text resource (the gateway's `/metrics`), failures normalised like the API's. */
  async text(path: string): Promise<string> {
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, { headers: { accept: 'text/plain' } });
    } catch (error) {
      throw toApiError(error);
    }
    const body = await response.text();
    if (!response.ok) throw errorFromResponse(response.status, undefined, response.headers.get('retry-after'));
    return body;
  }

  /** Calls the API; JSON in, JSON out, `undefined` for 204. */
  async request<T>(path: string, options: RequestOptions = {}): Promise<T> {
    if (options.anonymous) return this.send<T>(path, options);
    const token = await this.accessToken();
    try {
      return await this.send<T>(path, options, token);
    } catch (error) {
      // The token may have been revoked or expired early (clock skew): one refresh, one retry.
      if (error instanceof ApiError && error.status === 401 && this.session.get()) {
        const fresh = await this.refresh();
        return this.send<T>(path, options, fresh.accessToken);
      }
      throw error;
    }
  }

  private async send<T>(path: string, options: RequestOptions, token?: string): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.version !== undefined) headers['if-match'] = `"${options.version}"`;
    let url = `${this.baseUrl}${path}`;
    if (options.query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(options.query))
        if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: options.method ?? 'GET',
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      throw toApiError(error);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const error = errorFromResponse(response.status, body, response.headers.get('retry-after'));
      if (error.code === 'PASSWORD_CHANGE_REQUIRED') {
        const tokens = this.session.get();
        if (tokens && !tokens.mustChangePassword) this.session.set({ ...tokens, mustChangePassword: true });
      }
      throw error;
    }
    return body as T;
  }
}
