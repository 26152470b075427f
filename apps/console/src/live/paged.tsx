import { type QueryKey, type UseQueryResult, useQuery } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import type { Page } from '../api/contract.js';
import { toApiError } from '../api/errors.js';
import { Button, Empty, ErrorAlert, Loading } from '../ui/controls.js';

/**
 * Most pages a list follows (200 items each): past it "Load more" stops,
 * since every live refresh refetches all of them, one request per page.
 */
export const MAX_PAGES = 25;

/** Options of {@link usePagedQuery}. */
export interface PagedQueryOptions<T> {
  /** The list's key (prefix of the cached query: invalidating it refreshes every loaded page). */
  queryKey: QueryKey;
  /** One page after `cursor` (undefined: the first). */
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>;
  enabled?: boolean;
  refetchInterval?: number;
}

/**
 * A list that follows `next_cursor` on demand: the cached value is one
 * `Page` holding every loaded item (so optimistic patches and live
 * invalidations work on it as on a single page), refetched page by page.
 * Changing the key (a filter) starts again from the first page.
 */
export function usePagedQuery<T>(options: PagedQueryOptions<T>) {
  const base = JSON.stringify(options.queryKey);
  const [wanted, setWanted] = useState({ base, pages: 1 });
  const pages = wanted.base === base ? wanted.pages : 1;
  const query = useQuery({
    queryKey: [...options.queryKey, { pages }],
    queryFn: async (): Promise<Page<T>> => {
      let page = await options.fetchPage(undefined);
      const items = [...page.items];
      for (let n = 1; n < pages && page.next_cursor !== null; n++) {
        page = await options.fetchPage(page.next_cursor);
        items.push(...page.items);
      }
      return { items, next_cursor: page.next_cursor };
    },
    // While the next page loads, the loaded ones stay on screen (same list only: a new filter shows its loading state).
    placeholderData: (previous, previousQuery) =>
      previousQuery && JSON.stringify(previousQuery.queryKey.slice(0, -1)) === base ? previous : undefined,
    ...(options.enabled === undefined ? {} : { enabled: options.enabled }),
    ...(options.refetchInterval === undefined ? {} : { refetchInterval: options.refetchInterval }),
  });
  const hasMore = query.data?.next_cursor != null && pages < MAX_PAGES;
  return {
    ...query,
    hasMore,
    loadingMore: query.isPlaceholderData && query.isFetching,
    loadMore: () => setWanted({ base, pages: Math.min(pages + 1, MAX_PAGES) }),
  };
}

/** The "Load more" button of a paged list; nothing when the list is complete. */
export function LoadMore({
  list,
  what,
}: {
  list: { hasMore: boolean; loadingMore: boolean; loadMore: () => void };
  what: string;
}): ReactNode {
  if (!list.hasMore && !list.loadingMore) return null;
  return (
    <div className="mt-3 flex justify-center">
      <Button variant="secondary" onClick={list.loadMore} disabled={list.loadingMore} aria-label={`Load more ${what}`}>
        {list.loadingMore ? 'Loading…' : 'Load more'}
      </Button>
    </div>
  );
}

/**
 * What a list shows in each state of its query: "Loading {what}…", the
 * error with a Retry button, `empty` when it has no item, else
 * `children(items)`. Every list page triages the same way.
 *
 * @example
 * <PagedItems list={list} what="tenants" empty="No tenant yet.">
 *   {(tenants) => <ul>{tenants.map((t) => <li key={t.id}>{t.name}</li>)}</ul>}
 * </PagedItems>
 */
export function PagedItems<T>({
  list,
  what,
  empty,
  children,
}: {
  list: UseQueryResult<Page<T>>;
  what: string;
  empty: ReactNode;
  children: (items: T[]) => ReactNode;
}): ReactNode {
  if (list.isPending) return <Loading what={what} />;
  if (list.isError) {
    return (
      <ErrorAlert error={toApiError(list.error)} action={<Button onClick={() => void list.refetch()}>Retry</Button>} />
    );
  }
  if (list.data.items.length === 0) return <Empty>{empty}</Empty>;
  return children(list.data.items);
}
