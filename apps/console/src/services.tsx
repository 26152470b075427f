import type { AlbatrossClient } from '@albatross/client';
import { createContext, type ReactNode, useContext, useSyncExternalStore } from 'react';
import type { Api } from './api/endpoints.js';
import type { SessionStore, Tokens } from './api/session.js';

/** What every page reaches: the typed API and the session. */
export interface Services {
  api: Api;
  session: SessionStore;
  /** The gateway's WebSocket URL (same origin as the page in production). */
  realtimeUrl: string;
  /** Makes the session's realtime client; default: `createRealtime(api.http, realtimeUrl)` (tests inject one). */
  createRealtime?: () => AlbatrossClient;
}

const ServicesContext = createContext<Services | null>(null);

/** Provides the console's services (one per app; tests make their own). */
export function ServicesProvider({ services, children }: { services: Services; children: ReactNode }): ReactNode {
  return <ServicesContext.Provider value={services}>{children}</ServicesContext.Provider>;
}

/** The console's services. */
export function useServices(): Services {
  const services = useContext(ServicesContext);
  if (!services) throw new Error('useServices outside <ServicesProvider>');
  return services;
}

/** The session's tokens; re-renders on login, refresh, logout. */
export function useTokens(): Tokens | null {
  const { session } = useServices();
  return useSyncExternalStore(
    (notify) => session.subscribe(notify),
    () => session.get(),
    () => session.get(),
  );
}
