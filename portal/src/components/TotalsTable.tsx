import type { ReactNode } from "react";
import { formatInt } from "../lib/format";
import { formatUsd } from "../lib/money";

/** One row of a {@link TotalsTable}; `data` become data-* attributes (the e2e suites read them). */
export interface TotalsRow {
  key: string;
  name: ReactNode;
  count: number;
  tokens: number;
  costNanos: number | bigint;
  data?: Record<string, string | number>;
}

/**
 * A scrollable table of name, a count, tokens and cost per row, the shape
 * of a user's statement (by model, by day) and of compared totals. The
 * scroll area is focusable and named, so keyboard users can scroll it.
 */
export function TotalsTable({
  testId,
  caption,
  nameHeader,
  countHeader,
  nameClassName,
  rows,
}: {
  testId: string;
  caption: string;
  nameHeader: string;
  countHeader: string;
  nameClassName?: string;
  rows: TotalsRow[];
}) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label={`${caption}, scrollable`}>
      <table className="data-table" data-testid={testId}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">{nameHeader}</th>
            <th scope="col" className="num">{countHeader}</th>
            <th scope="col" className="num">Tokens</th>
            <th scope="col" className="num">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key} data-key={r.key} data-cost-nanos={r.costNanos.toString()} {...dataAttrs(r.data)}>
              <td className={nameClassName}>{r.name}</td>
              <td className="num">{formatInt(r.count)}</td>
              <td className="num">{formatInt(r.tokens)}</td>
              <td className="num">{formatUsd(r.costNanos)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function dataAttrs(data: Record<string, string | number> | undefined): Record<string, string | number> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [`data-${k}`, v]));
}
