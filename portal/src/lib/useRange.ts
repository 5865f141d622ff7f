import { useMemo } from "react";
import { admin } from "../data/api";
import { useAdminQuery } from "../data/hooks";
import { useRouter } from "../router/router";
import { dateKeyOf } from "./calendar";
import { parseRange, rangeParams, type RangeSpec, type Window, windowFor } from "./range";
import { useNow } from "./useNow";

/**
 * The reporting time zone (REPORTING_TZ) from llmmeter:settings; undefined
 * until it is known. A service without llmmeter:settings (older than the
 * function) reports UTC, its default.
 */
export function useReportingTz(): string | undefined {
  const s = useAdminQuery(admin.settings, {});
  if (s.data) return s.data.reportingTz;
  return s.error ? "UTC" : undefined;
}

/** The current month "YYYY-MM" of the reporting time zone; undefined until the zone is known. */
export function useCurrentMonth(): string | undefined {
  const tz = useReportingTz();
  const now = useNow();
  return tz === undefined ? undefined : dateKeyOf(now, tz).slice(0, 7);
}

/** One query parameter of the page and its setter (a history entry). */
export function useQueryParam(name: string): [string | undefined, (v: string | undefined) => void] {
  const { search, setQuery } = useRouter();
  const value = new URLSearchParams(search).get(name) ?? undefined;
  return [value, (v) => setQuery({ [name]: v })];
}

export interface RangeState {
  spec: RangeSpec;
  setSpec: (s: RangeSpec) => void;
  /** The window; null for "Any time" or an invalid custom range, undefined while the zone loads. */
  win: Window | null | undefined;
  tz: string | undefined;
}

/**
 * The page's range from the URL (?range=…&from=…&to=…, default `dflt`) and
 * its window in the reporting zone, stable until the hour changes.
 */
export function useRange(dflt: RangeSpec): RangeState {
  const { search, setQuery } = useRouter();
  const spec = parseRange(new URLSearchParams(search), dflt);
  const tz = useReportingTz();
  const now = useNow();
  const w = tz === undefined ? undefined : windowFor(spec, now, tz);
  // The same window object until its ends change, so queries keep their arguments.
  const key = w === undefined ? "loading" : w === null ? "none" : `${w.from}:${w.to}`;
  const win = useMemo(() => w, [key]);
  return { spec, setSpec: (s) => setQuery(rangeParams(s)), win, tz };
}
