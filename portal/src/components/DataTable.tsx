import type { ReactNode } from "react";
import { useSorted, type SortState } from "../lib/sort";

export interface Column<T, K extends string> {
  key: K;
  header: string;
  /** The cell; plain text or elements (never HTML strings). */
  render: (row: T) => ReactNode;
  /** The value sorted by; columns without one are not sortable. */
  sortValue?: (row: T) => unknown;
  align?: "left" | "right";
}

/** A table whose sortable columns sort on click (descending first). */
export function DataTable<T, K extends string>({
  rows,
  columns,
  initialSort,
  rowKey,
  caption,
  testId,
}: {
  rows: readonly T[];
  columns: Column<T, K>[];
  initialSort: SortState<K>;
  rowKey: (row: T) => string;
  caption?: string;
  testId?: string;
}) {
  const { sorted, sort, toggle } = useSorted(rows, initialSort, (row, key) =>
    columns.find((c) => c.key === key)?.sortValue?.(row),
  );
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid={testId}>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c) => {
              const active = sort.key === c.key;
              const aria = active ? (sort.dir === "asc" ? "ascending" : "descending") : "none";
              return (
                <th key={c.key} className={c.align === "right" ? "num" : ""} aria-sort={c.sortValue ? aria : undefined} scope="col">
                  {c.sortValue ? (
                    <button type="button" className="sort" onClick={() => toggle(c.key)}>
                      {c.header}
                      <span className="sort-mark" aria-hidden="true">
                        {active ? (sort.dir === "asc" ? "▲" : "▼") : ""}
                      </span>
                    </button>
                  ) : (
                    c.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {(sorted ?? []).map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.key} className={c.align === "right" ? "num" : ""}>
                  {c.render(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
