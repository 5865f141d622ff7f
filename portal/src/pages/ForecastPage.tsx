import { useRef, useState, type FormEvent } from "react";
import { admin, type ForecastRow, type Quota } from "../data/api";
import { toAdminError } from "../data/errors";
import { useAdminMutation, useAdminQuery } from "../data/hooks";
import { PageHeader } from "../components/PageHeader";
import { useAnnounce } from "../components/Announcer";
import { ConfirmButton } from "../components/ConfirmButton";
import { Empty, ErrorState, QueryView } from "../components/States";
import { StatCard } from "../components/StatCard";
import { dateKeyOf } from "../lib/calendar";
import { formatInt, formatPercentValue } from "../lib/format";
import { formatUsd, formatUsdExact, usdLimit } from "../lib/money";
import { windowFor } from "../lib/range";
import { formatDateTime } from "../lib/time";
import { useNow } from "../lib/useNow";
import { useReportingTz } from "../lib/useRange";
import { Link } from "../router/router";
import { FIRM_HISTORY_DAYS, historyLabel, isThinHistory, thinHistoryNote } from "./forecast/history";
import { BudgetUsedUp, budgetUsedUp } from "./users/BlockedNotice";
import { DeleteQuotaButton } from "./users/DeleteQuotaButton";
import { useStoredSystemBudget } from "./users/systemBudget";

/**
 * The budget page: this month's spend so far against the system budget and
 * the forecast job's month-end projection with its range, per-user
 * projections, and an inline editor for the budget (the
 * system_monthly_cost_usd quota, through llmmeter:setQuota; removed through
 * llmmeter:deleteQuota). An inactive budget is shown as such, with its
 * limit, to re-activate or remove; it limits nothing, so the projections
 * and the blocked notice leave it out.
 */
export function ForecastPage() {
  const tz = useReportingTz();
  const now = useNow();
  const month = tz ? windowFor({ key: "month" }, now, tz) : null;
  const monthKey = tz ? dateKeyOf(now, tz).slice(0, 7) : null;
  const mtd = useAdminQuery(admin.overview, month ?? "skip");
  const forecast = useAdminQuery(admin.forecast, {});
  const loadedBudget = useStoredSystemBudget();
  const stored = loadedBudget ?? null;
  // The budget in force: an inactive one refuses no call.
  const budget = stored?.isActive ? stored : null;
  const actual = mtd.data?.costNanoUsd ?? null;
  return (
    <section data-page="forecast">
      <PageHeader
        title="Budget"
        subtitle="This month's spend against the system budget, and the month-end projection."
      />
      <BudgetEditor budget={stored} loaded={loadedBudget !== undefined} monthSpend={actual} />
      {/* Refused now, every user: the projection's "over budget" alone read as a warning about the month's end. */}
      {budgetUsedUp(budget) && (
        <div className="error-box" role="status" data-testid="budget-blocked">
          <strong>Blocked.</strong> <BudgetUsedUp budget={budget} />
        </div>
      )}
      <QueryView
        state={forecast}
        isEmpty={(f) => f.rows.length === 0}
        empty={
          <Empty title="No forecast yet">
            The forecast job stores one projection a day once there is history.
          </Empty>
        }
      >
        {(f) => {
          const system = f.rows
            .filter((r) => r.scope === "system")
            .sort((a, b) => (a.month < b.month ? -1 : 1));
          const perUser = f.rows
            .filter((r) => r.scope === "user" && r.userId !== null)
            .sort((a, b) => b.costNanoUsd - a.costNanoUsd);
          return (
            <>
              <p className="muted small">
                Computed{" "}
                {f.createdAt !== null ? formatDateTime(f.createdAt) : "—"}
              </p>
              {system.length === 0 ? (
                <Empty title="No system-wide projection in this run" />
              ) : (
                system.map((r) => (
                  <Projection
                    key={r.month}
                    r={r}
                    budget={budget}
                    inactive={stored !== null && !stored.isActive}
                    actual={r.month === monthKey ? actual : null}
                  />
                ))
              )}
              <UserProjections rows={perUser} />
            </>
          );
        }}
      </QueryView>
    </section>
  );
}

/**
 * The system budget, edited or removed in place; the service validates
 * (4xx shown beside the field). An inactive budget keeps its state when
 * its limit is saved (llmmeter:setQuota without isActive), and is
 * re-activated by its own button. monthSpend is this month's spend so far
 * (null while loading).
 */
function BudgetEditor({
  budget,
  loaded,
  monthSpend,
}: {
  budget: Quota | null;
  loaded: boolean;
  monthSpend: number | null;
}) {
  const setQuota = useAdminMutation(admin.setQuota);
  const [value, setValue] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  // A budget at or below this month's spend refuses every user's calls at
  // once: such a value is saved only when submitted a second time.
  const [confirming, setConfirming] = useState<string | null>(null);
  const current = budget?.limitNanoUsd ?? null;
  const inactive = budget !== null && !budget.isActive;
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setSaved(null);
    // As the quota form reads it: "1e3" and a tenth of a nano-dollar
    // (stored as 0, which refuses every call) are not budgets.
    const limit = usdLimit(value);
    if (limit === null) {
      setError(new Error("Enter a budget in US dollars, e.g. 500 or 1,250.50 (at most 9 decimals)."));
      return;
    }
    const spent = budget?.usedNanoUsd ?? 0;
    // An inactive budget refuses nothing, whatever its limit.
    if (!inactive && Math.round(limit * 1e9) <= spent && confirming !== value) {
      setConfirming(value);
      setError(
        new Error(
          `${formatUsd(Math.round(limit * 1e9), 2)} is not more than this month's spend (${formatUsd(spent, 2)}): every user's calls would be refused until the month's end. Save again to set it anyway.`,
        ),
      );
      return;
    }
    setConfirming(null);
    setBusy(true);
    try {
      await setQuota({ quotaType: "system_monthly_cost_usd", limit });
      setSaved(`Budget set to ${formatUsd(Math.round(limit * 1e9), 2)}${inactive ? "; it stays inactive until re-activated" : ""}.`);
      setValue("");
    } catch (err) {
      setError(toAdminError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form
      className="card budget-editor"
      onSubmit={submit}
      data-testid="budget-editor"
      noValidate
    >
      <label htmlFor="budget-input">
        Monthly system budget (USD){" "}
        <span className="muted small" data-testid="budget-current">
          {!loaded
            ? "…"
            : current === null
              ? "not set"
              : inactive
                ? `inactive: ${formatUsd(current, 2)}, not enforced`
                : `now ${formatUsd(current, 2)}`}
        </span>
      </label>
      <div className="toolbar">
        <input
          ref={input}
          id="budget-input"
          inputMode="decimal"
          placeholder={current === null ? "e.g. 500" : String(current / 1e9)}
          value={value}
          aria-invalid={error !== null}
          aria-describedby={error ? "budget-error" : undefined}
          onChange={(e) => setValue(e.target.value)}
        />
        <button type="submit" className="btn primary" disabled={busy}>
          Save budget
        </button>
        {inactive && <ReactivateBudgetButton budget={budget} monthSpend={monthSpend} />}
        {budget !== null && (
          <DeleteQuotaButton
            quota={budget}
            action="Remove budget"
            consequence={
              inactive
                ? "Remove the inactive system budget? It can no longer be re-activated; a new one can be set."
                : "Remove the system budget? Calls are no longer limited by a system budget."
            }
            after={() => input.current?.focus()}
          />
        )}
      </div>
      <div role="status" aria-live="polite" className="small">
        {saved}
      </div>
      {error && (
        <div id="budget-error">
          <ErrorState error={error} title="The budget was not saved" />
        </div>
      )}
    </form>
  );
}

/**
 * Re-activates an inactive system budget at its stored limit
 * (llmmeter:setQuota with isActive: true, which starts a new window with
 * this month's spend), after a second click ("Confirm") that says what it
 * means, as DeleteQuotaButton asks before removing: re-activated at or
 * below this month's spend, it refuses every user's calls at once.
 */
function ReactivateBudgetButton({ budget, monthSpend }: { budget: Quota; monthSpend: number | null }) {
  const setQuota = useAdminMutation(admin.setQuota);
  const announce = useAnnounce();
  const limit = budget.limitNanoUsd ?? 0;
  const spend = monthSpend === null ? "" : ` (${formatUsd(monthSpend, 2)} so far)`;
  return (
    <ConfirmButton
      label="Re-activate budget"
      consequence={
        monthSpend !== null && limit <= monthSpend
          ? `Re-activate the ${formatUsd(limit, 2)} budget? This month's spend${spend} is not below it: every user's calls would be refused until the month's end.`
          : `Re-activate the ${formatUsd(limit, 2)} budget? Calls are refused once this month's spend${spend} reaches it.`
      }
      confirmHint="re-activating the budget"
      keepHint="the budget inactive"
      testId="reactivate-budget"
      act={async () => {
        await setQuota({ quotaType: "system_monthly_cost_usd", limit: budget.limit, isActive: true });
        announce(`Budget re-activated at ${formatUsd(limit, 2)}.`);
      }}
    />
  );
}

/** One month's projection as a chart: spend so far, the expected cost with its range, and the budget line. */
function Projection({
  r,
  budget,
  inactive,
  actual,
}: {
  r: ForecastRow;
  budget: Quota | null;
  /** A budget is stored but inactive: not drawn, said so. */
  inactive: boolean;
  actual: number | null;
}) {
  const limit = budget?.limitNanoUsd ?? null;
  // A projection is never below what was already spent.
  const low = Math.max(r.costLowNanoUsd, actual ?? 0);
  const point = Math.max(r.costNanoUsd, low);
  const high = Math.max(r.costHighNanoUsd, point);
  const scaleMax = Math.max(high, limit ?? 0, 1);
  const pct = (v: number) => `${Math.min(100, (v / scaleMax) * 100)}%`;
  const verdict =
    limit === null
      ? null
      : high <= limit
        ? "within budget"
        : low > limit
          ? "over budget"
          : point > limit
            ? "likely over budget"
            : "may exceed budget";
  const label =
    (actual !== null ? `Spent ${formatUsd(actual, 2)} so far; ` : "") +
    `projected ${formatUsd(point, 2)}, range ${formatUsd(low, 2)} to ${formatUsd(high, 2)}` +
    (limit !== null ? `; budget ${formatUsd(limit, 2)}` : "");
  return (
    <div className="card" data-testid="projection" data-month={r.month}>
      <h2>{r.month}</h2>
      {isThinHistory(r.historyDays) && (
        <p className="warn-box" role="note" data-testid="forecast-history">
          <strong>Low confidence.</strong> {thinHistoryNote(r.historyDays)}
        </p>
      )}
      <div className="stats">
        {actual !== null && (
          <StatCard
            testId="budget-mtd"
            label="Month to date"
            value={formatUsd(actual, 2)}
            title={formatUsdExact(actual)}
          />
        )}
        <StatCard
          testId="forecast-cost"
          label="Projected cost"
          value={formatUsd(point, 2)}
          title={formatUsdExact(point)}
        />
        <StatCard
          testId="forecast-range"
          label="Range"
          value={`${formatUsd(low, 2)} – ${formatUsd(high, 2)}`}
        />
        <StatCard
          testId="forecast-budget"
          label="Budget"
          value={limit !== null ? formatUsd(limit, 2) : inactive ? "inactive" : "not set"}
          hint={verdict ?? (inactive ? "re-activate it above" : "set it above")}
        />
        <StatCard
          label="Tokens"
          value={formatInt(r.tokens)}
          hint={`${formatInt(r.tokensLow)} – ${formatInt(r.tokensHigh)}`}
        />
        {r.backtestMape !== null && (
          <StatCard
            testId="forecast-mape"
            label="Back-test error"
            value={formatPercentValue(r.backtestMape)}
            hint={r.method}
          />
        )}
      </div>
      <div
        className="range-bar"
        role="img"
        aria-label={label}
        data-testid="budget-chart"
      >
        {actual !== null && (
          <span
            className="actual"
            data-testid="budget-actual"
            style={{ width: pct(actual) }}
          />
        )}
        <span
          className="band"
          style={{ left: pct(low), width: `calc(${pct(high)} - ${pct(low)})` }}
        />
        <span className="point" style={{ left: pct(point) }} />
        {limit !== null && (
          <span
            className={`budget ${verdict === "within budget" ? "" : "over"}`}
            style={{ left: pct(limit) }}
          />
        )}
      </div>
      <div className="range-legend muted small">
        <span>$0</span>
        <span>{formatUsd(scaleMax, 2)}</span>
      </div>
      <p className="muted small">
        Dark: spent so far · light: projected range · mark: projection · line:
        budget
      </p>
    </div>
  );
}

/**
 * The forecast job's per-user month-end projections, most expensive first;
 * a user new this month has less history than the system, so each row says
 * how much it rests on.
 */
function UserProjections({ rows }: { rows: ForecastRow[] }) {
  if (rows.length === 0) return null;
  const thin = rows.some((r) => isThinHistory(r.historyDays));
  return (
    <div className="card">
      <h2>Per user</h2>
      <div className="table-wrap">
        <table className="data-table" data-testid="user-projections">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Month</th>
              <th scope="col" className="num">
                Projected
              </th>
              <th scope="col" className="num">
                Range
              </th>
              <th scope="col" className="num">
                Tokens
              </th>
              <th scope="col">History</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.userId}-${r.month}`} data-user-id={r.userId!}>
                <td>
                  <Link
                    to={`/users/${encodeURIComponent(r.userId!)}`}
                    className="user-link"
                  >
                    {r.userName ?? r.userId}
                  </Link>
                </td>
                <td>{r.month}</td>
                <td className="num">{formatUsd(r.costNanoUsd, 2)}</td>
                <td className="num">
                  {formatUsd(r.costLowNanoUsd, 2)} –{" "}
                  {formatUsd(r.costHighNanoUsd, 2)}
                </td>
                <td className="num">{formatInt(r.tokens)}</td>
                <td>
                  <HistoryCell days={r.historyDays} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {thin && (
        <p className="muted small" role="note">
          Rows marked low confidence rest on fewer than {FIRM_HISTORY_DAYS}{" "}
          days of data; their projections firm up after that.
        </p>
      )}
    </div>
  );
}

/** How much history a user's projection rests on, flagged when too little. */
function HistoryCell({ days }: { days: number | null }) {
  if (days === null) return <span className="muted">—</span>;
  if (!isThinHistory(days)) return <>{historyLabel(days)}</>;
  return (
    <span className="badge badge-warn" title={thinHistoryNote(days)} data-testid="user-history-thin">
      {historyLabel(days)} · low confidence
    </span>
  );
}
