import { createContext, type ReactNode, useContext, useState } from 'react';

interface Scope {
  /** The tenant the admin views work on ('' until the profile is known). */
  tenantId: string;
  setTenantId: (id: string) => void;
}

const ScopeContext = createContext<Scope>({ tenantId: '', setTenantId: () => {} });

/** The tenant switcher's state: a PlatformAdmin picks any tenant, everyone else stays on their own. */
export function TenantScopeProvider({ initial, children }: { initial: string; children: ReactNode }): ReactNode {
  const [picked, setTenantId] = useState<string | null>(null);
  return <ScopeContext.Provider value={{ tenantId: picked ?? initial, setTenantId }}>{children}</ScopeContext.Provider>;
}

/** The tenant the admin views are scoped to. */
export function useTenantScope(): Scope {
  return useContext(ScopeContext);
}
