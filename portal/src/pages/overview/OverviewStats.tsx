import type { Overview } from "../../data/api";
import { StatCard } from "../../components/StatCard";
import { formatInt, formatMs, successRate } from "../../lib/format";
import { formatUsd, formatUsdExact } from "../../lib/money";

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
      <StatCard testId="stat-users" label="Active users" value={formatInt(o.activeUsers)} hint={`${formatInt(o.modelsUsed)} models used`} />
      <StatCard
        testId="stat-latency"
        label="Latency"
        value={formatMs(o.avgProcessingMs)}
        hint={`p95 ${o.requests > 0 ? formatMs(o.p95ProcessingMs) : "—"}`}
      />
    </div>
  );
}
