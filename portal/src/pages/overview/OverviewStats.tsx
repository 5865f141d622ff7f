import type { Overview } from "../../data/api";
import { StatCard } from "../../components/StatCard";
import { formatInt, formatMs, plural, successRate } from "../../lib/format";
import { formatUsd, formatUsdExact } from "../../lib/money";

/**
 * Why "≥ N": over a range of several stored periods the services count
 * distinct users per period only, and answer the largest period's count
 * with activeUsersExact false (a lower bound, not a sum).
 */
export const ACTIVE_USERS_LOWER_BOUND =
  "At least this many: the range spans several periods and users are counted per period, so this is the busiest period's count; users active in different periods are not added up.";

/** Overview's active users as shown: "≥ 1,234" when the count is a lower bound. */
export function activeUsersText(o: Pick<Overview, "activeUsers" | "activeUsersExact">): string {
  return o.activeUsersExact ? formatInt(o.activeUsers) : `≥ ${formatInt(o.activeUsers)}`;
}

export function OverviewStats({ o }: { o: Overview }) {
  return (
    <div className="stats">
      <StatCard testId="stat-requests" label="Requests" value={formatInt(o.requests)} hint={`${formatInt(o.failed)} failed`} />
      <StatCard
        testId="stat-tokens"
        label="Tokens"
        value={formatInt(o.totalTokens)}
        hint={`${formatInt(o.cachedTokens)} cached · ${formatInt(o.reasoningTokens)} reasoning`}
      />
      <StatCard testId="stat-cost" label="Cost" value={formatUsd(o.costNanoUsd)} title={formatUsdExact(o.costNanoUsd)} />
      <StatCard testId="stat-success" label="Success rate" value={successRate(o.successful, o.requests)} />
      <StatCard
        testId="stat-users"
        label="Active users"
        value={activeUsersText(o)}
        title={o.activeUsersExact ? undefined : ACTIVE_USERS_LOWER_BOUND}
        hint={`${plural(o.modelsUsed, "model")} used`}
      />
      <StatCard
        testId="stat-latency"
        label="Latency"
        value={formatMs(o.avgProcessingMs)}
        hint={`p95 ${o.requests > 0 ? formatMs(o.p95ProcessingMs) : "—"}`}
      />
    </div>
  );
}
