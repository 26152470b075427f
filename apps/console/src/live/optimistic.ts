import { type QueryKey, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { Page } from '../api/contract.js';
import { type ApiError, toApiError } from '../api/errors.js';

/** Options of {@link useOptimistic}. */
export interface OptimisticOptions<V, R> {
  mutationFn: (vars: V) => Promise<R>;
  /** Query key prefixes the change shows in (every matching cached query is patched). */
  keys: readonly QueryKey[];
  /** The cached data as it will be once the command succeeds. */
  apply: (data: unknown, vars: V) => unknown;
  onSuccess?: (result: R, vars: V) => void;
}

/**
 * A command with an optimistic update: the cache shows the result at once,
 * rolls back exactly to what it was on failure (the error is kept for the
 * view to show), and is refetched either way so it ends on the server's truth.
 */
export function useOptimistic<V, R>(options: OptimisticOptions<V, R>) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<ApiError | null>(null);
  const mutation = useMutation({
    mutationFn: options.mutationFn,
    onMutate: async (vars: V) => {
      setError(null);
      const snapshots: [QueryKey, unknown][] = [];
      for (const queryKey of options.keys) {
        await queryClient.cancelQueries({ queryKey });
        for (const [key, data] of queryClient.getQueriesData({ queryKey })) {
          snapshots.push([key, data]);
          if (data !== undefined) queryClient.setQueryData(key, options.apply(data, vars));
        }
      }
      return { snapshots };
    },
    onError: (err, _vars, context) => {
      for (const [key, data] of context?.snapshots ?? []) queryClient.setQueryData(key, data);
      setError(toApiError(err));
    },
    onSuccess: (result, vars) => options.onSuccess?.(result, vars),
    onSettled: () => {
      for (const queryKey of options.keys) void queryClient.invalidateQueries({ queryKey });
    },
  });
  return { ...mutation, error, clearError: () => setError(null) };
}

/** Patches the item with `id` in a cached page or single entity (for {@link OptimisticOptions.apply}). */
export function patchItem<T extends { id: string }>(data: unknown, id: string, patch: (item: T) => T): unknown {
  if (typeof data !== 'object' || data === null) return data;
  if ('items' in data && Array.isArray((data as Page<T>).items)) {
    const page = data as Page<T>;
    return { ...page, items: page.items.map((item) => (item.id === id ? patch(item) : item)) };
  }
  if ((data as T).id === id) return patch(data as T);
  return data;
}
