import type { UserDetail } from "../../data/api";
import { StatCard } from "../../components/StatCard";
import { formatInt, formatMs, successRate } from "../../lib/format";
import { formatUsd, formatUsdExact } from "../../lib/money";

/** The user's totals in the range: requests, tokens (cached and reasoning among them), cost, latency. */
export function UserStats({ totals }: { totals: UserDetail["totals"] }) {
  return (
    <div className="stats">
      <StatCard testId="user-requests" label="Requests" value={formatInt(totals.requests)} hint={`${formatInt(totals.failed)} failed`} />
      <StatCard testId="user-tokens" label="Tokens" value={formatInt(totals.totalTokens)} />
      <StatCard testId="user-cached" label="Cached tokens" value={formatInt(totals.cachedTokens)} />
      <StatCard testId="user-reasoning" label="Reasoning tokens" value={formatInt(totals.reasoningTokens)} />
      <StatCard testId="user-cost" label="Cost" value={formatUsd(totals.costNanoUsd)} title={formatUsdExact(totals.costNanoUsd)} />
      <StatCard label="Success rate" value={successRate(totals.successful, totals.requests)} />
      <StatCard label="Avg latency" value={formatMs(totals.avgProcessingMs)} />
      <StatCard testId="user-p95" label="p95 latency" value={totals.requests > 0 ? formatMs(totals.p95ProcessingMs) : "—"} />
    </div>
  );
}
