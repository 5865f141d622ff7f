import { formatUsd, formatUsdExact } from "../lib/money";

/** A cost, rounded for reading; the exact amount in the tooltip. */
export function Money({ nanos, decimals }: { nanos: number | bigint; decimals?: number }) {
  return (
    <span className="money" title={formatUsdExact(nanos)}>
      {formatUsd(nanos, decimals)}
    </span>
  );
}
