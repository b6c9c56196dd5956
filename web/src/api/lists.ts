/** Cursor-paginated lists (`{items, next_cursor}`) as TanStack infinite queries. */
import { type QueryKey, useInfiniteQuery } from "@tanstack/react-query";
import { useMemo } from "react";

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export const PAGE_SIZE = 50;

export function useCursorList<T>(
  queryKey: QueryKey,
  fetchPage: (cursor: string | undefined) => Promise<Page<T>>,
  options: { enabled?: boolean } = {},
) {
  const query = useInfiniteQuery({
    queryKey,
    queryFn: ({ pageParam }) => fetchPage(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    enabled: options.enabled,
  });
  const items = useMemo(() => query.data?.pages.flatMap((p) => p.items) ?? [], [query.data]);
  return { ...query, items };
}
