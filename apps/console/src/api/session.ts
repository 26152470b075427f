import type { TokenResponse } from './contract.js';

/** The tokens of one signed-in session. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** Access token expiry, ms since the Unix epoch. */
  expiresAt: number;
  mustChangePassword: boolean;
}

/** Where tokens live between reloads; `sessionStorage` in the browser (per tab, gone with the tab). */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const KEY = 'albatross.console.session';

/**
 * Token storage with change notification. Tokens are kept per tab
 * (`sessionStorage`): two windows are two sessions, and a closed tab leaves
 * no refresh token behind. Refresh tokens rotate, so a session is never
 * shared between tabs (a second tab reusing a rotated token would revoke the
 * whole family).
 */
export class SessionStore {
  private tokens: Tokens | null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly storage: TokenStorage | null) {
    this.tokens = SessionStore.read(storage);
  }

  private static read(storage: TokenStorage | null): Tokens | null {
    const raw = storage?.getItem(KEY);
    if (!raw) return null;
    try {
      const t = JSON.parse(raw) as Partial<Tokens>;
      if (typeof t.accessToken !== 'string' || typeof t.refreshToken !== 'string' || typeof t.expiresAt !== 'number')
        return null;
      return {
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
        expiresAt: t.expiresAt,
        mustChangePassword: t.mustChangePassword === true,
      };
    } catch {
      return null;
    }
  }

  get(): Tokens | null {
    return this.tokens;
  }

  /** Stores a login or refresh answer. */
  setFromResponse(answer: TokenResponse, now = Date.now()): Tokens {
    const tokens: Tokens = {
      accessToken: answer.access_token,
      refreshToken: answer.refresh_token,
      expiresAt: now + answer.expires_in * 1000,
      mustChangePassword: answer.must_change_password,
    };
    this.set(tokens);
    return tokens;
  }

  set(tokens: Tokens | null): void {
    this.tokens = tokens;
    if (tokens) this.storage?.setItem(KEY, JSON.stringify(tokens));
    else this.storage?.removeItem(KEY);
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
