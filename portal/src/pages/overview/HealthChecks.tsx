import { admin, type Alert } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";
import { Badge, type Tone } from "../../components/Badge";
import { Link } from "../../router/router";

/**
 * The health alert rules of the jobs (jobs/healthrules.go), by alert type.
 * A check is "ok" while it has no open alert, else it shows its worst open
 * alert's severity and message.
 */
const CHECKS = [
  { type: "openrouter_unreachable", label: "OpenRouter reachability" },
  { type: "key_balance", label: "Key balance" },
  { type: "delivery_backlog", label: "Delivery backlog" },
  { type: "job_failure", label: "Jobs" },
] as const;

const TONE: Record<Alert["severity"], Tone> = { critical: "bad", warning: "warn", info: "info" };

/** Open alerts read per poll; llmmeter:alerts lists the most severe first. */
const OPEN_LIMIT = 200;

/** Each health check's state from the open health alerts, linking to the Alerts page. */
export function HealthChecks() {
  const q = useAdminQuery(admin.alerts, { status: "open", limit: OPEN_LIMIT });
  if (q.data === undefined) return null;
  const open = q.data;
  return (
    <div className="health-checks" data-testid="health-checks">
      <h3>Health alerts</h3>
      <ul>
        {CHECKS.map((c) => {
          const worst = open.find((a) => a.alertType === c.type); // most severe first
          const state = worst?.severity ?? "ok";
          return (
            <li key={c.type} data-check={c.type} data-state={state}>
              <span className="health-check-label">{c.label}</span>{" "}
              {worst ? <Badge tone={TONE[worst.severity]}>{worst.severity}</Badge> : <Badge tone="ok">ok</Badge>}
              {worst && (
                <>
                  {" "}
                  <Link to="/alerts" className="health-check-message">
                    {worst.message}
                  </Link>
                </>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
