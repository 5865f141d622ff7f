import type { Overview } from "../../data/api";
import { Badge } from "../../components/Badge";
import { Empty } from "../../components/States";
import { useConnection } from "../../data/hooks";
import { formatInt, formatMs } from "../../lib/format";
import { formatUsd } from "../../lib/money";
import { formatDateTime, formatRelative } from "../../lib/time";
import { HealthChecks } from "./HealthChecks";

/**
 * The latest health check the jobs recorded. While the service does not
 * answer, that check is stale: the panel says so instead of showing "ok".
 */
export function HealthPanel({ health }: { health: Overview["health"] }) {
  const { unreachable } = useConnection();
  return (
    <div className="card" data-testid="health">
      <h2>System health</h2>
      {unreachable ? (
        <dl className="health">
          <div>
            <dt>llmmeter service</dt>
            <dd>
              <Badge tone="bad">unreachable</Badge>
            </dd>
          </div>
          {health && (
            <div>
              <dt>Last check</dt>
              <dd title={formatDateTime(health.checkedAt)}>{formatRelative(health.checkedAt)}</dd>
            </div>
          )}
        </dl>
      ) : !health ? (
        <Empty title="No health check recorded yet">The health job records one every few minutes once it runs.</Empty>
      ) : (
        <dl className="health">
          <div>
            <dt>OpenRouter</dt>
            <dd>{health.openrouterOk ? <Badge tone="ok">reachable</Badge> : <Badge tone="bad">failing</Badge>}</dd>
          </div>
          <div>
            <dt>Store</dt>
            <dd>{health.storeOk ? <Badge tone="ok">ok</Badge> : <Badge tone="bad">failing</Badge>}</dd>
          </div>
          <div>
            <dt>Outbox depth</dt>
            <dd>{formatInt(health.outboxDepth)}</dd>
          </div>
          <div>
            <dt>Job lag</dt>
            <dd>{formatMs(health.jobLagMs)}</dd>
          </div>
          <div>
            <dt>Key credit left</dt>
            <dd>{health.keyRemainingNanoUsd === null ? "unlimited" : formatUsd(health.keyRemainingNanoUsd)}</dd>
          </div>
          <div>
            <dt>Checked</dt>
            <dd title={formatDateTime(health.checkedAt)}>{formatRelative(health.checkedAt)}</dd>
          </div>
        </dl>
      )}
      {!unreachable && <HealthChecks />}
    </div>
  );
}
