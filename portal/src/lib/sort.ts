import { useMemo, useState } from "react";

export type SortDir = "asc" | "desc";
export interface SortState<K extends string> {
  key: K;
  dir: SortDir;
}

/** Compares numbers, strings (locale-aware) and nulls (always last). */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : 1;
  return String(a).localeCompare(String(b), "en");
}

/** Rows sorted by a column; toggle() flips the direction or picks a new column (descending first). */
export function useSorted<T, K extends string>(
  rows: readonly T[] | undefined,
  initial: SortState<K>,
  value: (row: T, key: K) => unknown,
) {
  const [sort, setSort] = useState<SortState<K>>(initial);
  const sorted = useMemo(() => {
    if (!rows) return undefined;
    const out = [...rows];
    const sign = sort.dir === "asc" ? 1 : -1;
    out.sort((a, b) => {
      const va = value(a, sort.key);
      const vb = value(b, sort.key);
      if (va === null || va === undefined || vb === null || vb === undefined) return compareValues(va, vb);
      return sign * compareValues(va, vb);
    });
    return out;
    // `value` is a pure accessor; sorting follows rows and sort only.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rows, sort]);
  const toggle = (key: K) =>
    setSort((s) => (s.key === key ? { key, dir: s.dir === "asc" ? "desc" : "asc" } : { key, dir: "desc" }));
  return { sorted, sort, toggle };
}
