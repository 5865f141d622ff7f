import { useState } from "react";
import { admin, type Period, type SeriesPoint } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";
import { SeriesChart } from "../../charts/SeriesChart";
import { TotalsTable } from "../../components/TotalsTable";
import { SERIES } from "../../charts/theme";
import { formatCompact } from "../../lib/format";
import { nanosToChartUsd, sumNanos } from "../../lib/money";
import { labelOfPeriodKey } from "../../lib/time";
import type { Window } from "../../lib/range";
import { useQueryParam } from "../../lib/useRange";

/** Most subjects on one comparison chart. */
export const MAX_COMPARED = 5;
const COLORS = [SERIES.blue, SERIES.red, SERIES.teal, SERIES.purple, SERIES.amber];

export type Subject = { kind: "user" | "model"; id: string };

/**
 * The subjects in ?compare=model:a,model:b (or user:…): one kind, at most
 * MAX_COMPARED, each once; anything else in the parameter is dropped.
 */
export function parseCompare(param: string | undefined): Subject[] {
  if (!param) return [];
  const out: Subject[] = [];
  for (const part of param.split(",")) {
    const m = /^(user|model):(.+)$/.exec(part);
    if (!m || out.some((s) => s.id === m[2]) || (out.length > 0 && out[0].kind !== m[1])) continue;
    out.push({ kind: m[1] as Subject["kind"], id: m[2] });
    if (out.length === MAX_COMPARED) break;
  }
  return out;
}

export function compareParam(subjects: Subject[]): string | undefined {
  return subjects.length === 0 ? undefined : subjects.map((s) => `${s.kind}:${s.id}`).join(",");
}

/** One llmmeter:usageSeries per slot; hooks need a fixed count, so empty slots skip. */
function useSlot(i: number, subjects: Subject[], period: Period, win: Window | null | undefined) {
  const s = subjects[i];
  const args =
    s === undefined || !win ? "skip" : { period, ...win, ...(s.kind === "user" ? { userId: s.id } : { modelSlug: s.id }) };
  return useAdminQuery(admin.usageSeries, args);
}

/**
 * Up to five users or five models overlaid on the Usage page's period and
 * range: cost and requests per period, one series each, and their totals.
 */
export function Compare({
  period,
  win,
  users,
  models,
}: {
  period: Period;
  win: Window | null | undefined;
  users: { id: string; name: string }[];
  models: string[];
}) {
  const [param, setParam] = useQueryParam("compare");
  const subjects = parseCompare(param);
  // The kind to pick from: the chosen subjects', else the admin's choice.
  const [picked, setPicked] = useState<Subject["kind"]>("model");
  const kind = subjects[0]?.kind ?? picked;
  const slots = [
    useSlot(0, subjects, period, win),
    useSlot(1, subjects, period, win),
    useSlot(2, subjects, period, win),
    useSlot(3, subjects, period, win),
    useSlot(4, subjects, period, win),
  ];
  const nameOf = (s: Subject) => (s.kind === "user" ? (users.find((u) => u.id === s.id)?.name ?? s.id) : s.id);
  const candidates = kind === "user" ? users.map((u) => ({ id: u.id, name: u.name })) : models.map((m) => ({ id: m, name: m }));
  const toggle = (id: string, on: boolean) =>
    setParam(compareParam(on ? [...subjects, { kind, id }] : subjects.filter((s) => s.id !== id)));
  const loaded = subjects.every((_, i) => slots[i].data !== undefined);
  return (
    <div className="card" data-testid="compare" data-subjects={param ?? ""}>
      <h2>Compare</h2>
      <div className="toolbar">
        <label>
          Compare
          <select aria-label="Compare" value={kind} onChange={(e) => {
              setPicked(e.target.value as Subject["kind"]);
              if (e.target.value !== kind) setParam(undefined);
            }}
          >
            <option value="model">models</option>
            <option value="user">users</option>
          </select>
        </label>
        <span className="muted small">up to {MAX_COMPARED}</span>
      </div>
      <fieldset className="compare-choices">
        <legend className="sr-only">{kind === "user" ? "Users" : "Models"} to compare</legend>
        {candidates.map((c) => {
          const on = subjects.some((s) => s.id === c.id);
          return (
            <label key={c.id} className="small">
              <input type="checkbox" checked={on} disabled={!on && subjects.length >= MAX_COMPARED} onChange={(e) => toggle(c.id, e.target.checked)} /> {c.name}
            </label>
          );
        })}
      </fieldset>
      {subjects.length > 0 && loaded && <Overlay subjects={subjects} names={subjects.map(nameOf)} series={subjects.map((_, i) => slots[i].data!)} />}
      {subjects.length > 0 && !loaded && <p className="muted">Loading…</p>}
    </div>
  );
}

function Overlay({ subjects, names, series }: { subjects: Subject[]; names: string[]; series: SeriesPoint[][] }) {
  // One row per period any subject has, in period order.
  const byStart = new Map<number, Record<string, string | number>>();
  series.forEach((points, i) => {
    for (const p of points) {
      const row = byStart.get(p.periodStart) ?? { label: labelOfPeriodKey(p.periodKey) };
      row[`cost${i}`] = nanosToChartUsd(p.costNanoUsd);
      row[`requests${i}`] = p.requests;
      byStart.set(p.periodStart, row);
    }
  });
  const rows = [...byStart].sort((a, b) => a[0] - b[0]).map(([, r]) => {
    subjects.forEach((_, i) => {
      r[`cost${i}`] ??= 0;
      r[`requests${i}`] ??= 0;
    });
    return r;
  });
  const defs = (metric: string) => subjects.map((_, i) => ({ key: `${metric}${i}`, label: names[i], color: COLORS[i] }));
  return (
    <>
      <div className="grid-2">
        <SeriesChart label="Cost per period (USD), compared" data={rows} x="label" series={defs("cost")} formatValue={(v) => `$${v.toFixed(2)}`} />
        <SeriesChart label="Requests per period, compared" data={rows} x="label" series={defs("requests")} formatValue={formatCompact} />
      </div>
      <TotalsTable
        testId="compare-totals"
        caption="Totals in the range"
        nameHeader={subjects[0].kind === "user" ? "User" : "Model"}
        countHeader="Requests"
        rows={subjects.map((s, i) => ({
          key: s.id,
          name: names[i],
          count: series[i].reduce((a, p) => a + p.requests, 0),
          tokens: series[i].reduce((a, p) => a + p.totalTokens, 0),
          costNanos: sumNanos(series[i].map((p) => p.costNanoUsd)),
          data: { points: series[i].length },
        }))}
      />
    </>
  );
}
