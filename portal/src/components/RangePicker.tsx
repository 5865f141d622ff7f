import { useState } from "react";
import { dateKeyOf } from "../lib/calendar";
import { RANGES, type RangeKey, type RangeSpec } from "../lib/range";
import type { RangeState } from "../lib/useRange";

const DEFAULT_KEYS: RangeKey[] = ["today", "24h", "7d", "30d", "month", "lastmonth", "custom"];

/**
 * The one range picker of every page with data over time. Calendar ranges
 * are in the reporting time zone; a custom range is whole reporting days
 * from one date to another, both included.
 */
export function RangePicker({ range, withAll = false }: { range: RangeState; withAll?: boolean }) {
  const { spec, setSpec, win, tz } = range;
  const keys = withAll ? [...DEFAULT_KEYS, "all" as const] : DEFAULT_KEYS;
  const list = RANGES.filter((r) => keys.includes(r.key));
  // Dates being typed (from after to is not yet a range) are a draft over
  // the URL's range; a draft made over another range (back/forward) is dropped.
  const current = spec.key === "custom" ? `${spec.from}/${spec.to}` : spec.key;
  const [draft, setDraft] = useState<{ over: string; from: string; to: string } | null>(null);
  const custom = draft && draft.over === current ? draft : spec.key === "custom" ? { from: spec.from, to: spec.to } : null;

  const pick = (key: RangeKey) => {
    if (key !== "custom") {
      setDraft(null);
      return setSpec({ key } as RangeSpec);
    }
    // Start from the dates the current window covers (today if none).
    const zone = tz ?? "UTC";
    const now = Date.now();
    const from = dateKeyOf(win ? win.from : now, zone);
    const to = dateKeyOf(win ? Math.max(win.from, win.to - 1) : now, zone);
    setDraft(null);
    setSpec({ key: "custom", from, to });
  };
  const setCustom = (patch: Partial<{ from: string; to: string }>) => {
    const next = { from: custom?.from ?? "", to: custom?.to ?? "", ...patch };
    if (next.from && next.to && next.from <= next.to) {
      setDraft(null);
      setSpec({ key: "custom", ...next });
    } else setDraft({ over: current, ...next });
  };

  return (
    <div className="range-picker" data-testid="range-picker" data-range={spec.key}>
      <div className="segmented" role="group" aria-label="Time range">
        {list.map((r) => (
          <button key={r.key} type="button" className={r.key === spec.key ? "active" : ""} aria-pressed={r.key === spec.key} onClick={() => pick(r.key)}>
            {r.label}
          </button>
        ))}
      </div>
      {spec.key === "custom" && custom && (
        <div className="range-custom">
          <label>
            From
            <input aria-label="From date" type="date" value={custom.from} max={custom.to} onChange={(e) => setCustom({ from: e.target.value })} />
          </label>
          <label>
            To
            <input aria-label="To date" type="date" value={custom.to} min={custom.from} onChange={(e) => setCustom({ to: e.target.value })} />
          </label>
        </div>
      )}
      {tz && (
        <span className="muted small range-zone" data-testid="range-zone" title="Days, weeks and months are those of the reporting time zone">
          {win ? describeWindow(win.from, win.to, tz) : spec.key === "all" ? "all requests" : ""} · {tz}
        </span>
      )}
    </div>
  );
}

/** "2024-01-01 – 2024-01-31": the reporting days a window covers. */
function describeWindow(from: number, to: number, tz: string): string {
  const a = dateKeyOf(from, tz);
  const b = dateKeyOf(Math.max(from, to - 1), tz);
  return a === b ? a : `${a} – ${b}`;
}

