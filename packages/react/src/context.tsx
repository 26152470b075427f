import type { AlbatrossClient, EventMap } from '@albatross/client';
import { createContext, type ReactNode, useContext, useEffect } from 'react';

const RealtimeContext = createContext<AlbatrossClient | null>(null);

/** Props of {@link RealtimeProvider}. */
export interface RealtimeProviderProps {
  /** The client to share; create it once, outside render. */
  client: AlbatrossClient<never> | AlbatrossClient;
  /** Connect on mount and disconnect on unmount (default true). */
  connect?: boolean;
  children?: ReactNode;
}

/**
 * Shares one client with the tree below; connects it on mount and
 * disconnects it on unmount.
 *
 * @example
 * const client = createClient<AppEvents>({ url: '/ws', getToken });
 * root.render(
 *   <RealtimeProvider client={client}>
 *     <App />
 *   </RealtimeProvider>,
 * );
 */
export function RealtimeProvider({ client, connect = true, children }: RealtimeProviderProps): ReactNode {
  const shared = client as AlbatrossClient;
  useEffect(() => {
    if (!connect) return;
    shared.connect();
    return () => shared.disconnect();
  }, [shared, connect]);
  return <RealtimeContext.Provider value={shared}>{children}</RealtimeContext.Provider>;
}

/**
 * The client of the nearest {@link RealtimeProvider}.
 *
 * @example
 * const client = useRealtime<AppEvents>();
 * const onClick = () => client.subscribe(`tenant:${id}:updates`);
 */
export function useRealtime<M extends EventMap = EventMap>(): AlbatrossClient<M> {
  const client = useContext(RealtimeContext);
  if (!client) throw new Error('useRealtime: no <RealtimeProvider> above this component');
  return client as unknown as AlbatrossClient<M>;
}
