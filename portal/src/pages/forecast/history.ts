import { plural } from "../../lib/format";

/**
 * A projection resting on fewer closed days of data than this is flagged
 * on the Budget page: a week is the least that shows the weekday pattern
 * and a rate not set by one odd day. How many days a projection rests on
 * is the forecast job's (historyDays); this is only where the page starts
 * to trust it.
 */
export const FIRM_HISTORY_DAYS = 7;

/** 0 → "less than a day", 1 → "1 day", 12 → "12 days". */
export function historyLabel(days: number): string {
  return days === 0 ? "less than a day" : plural(days, "day");
}

/**
 * Whether a projection rests on too little history to be trusted. null
 * (a run stored before the job kept historyDays) is not flagged: unknown
 * is not short.
 */
export function isThinHistory(days: number | null): days is number {
  return days !== null && days < FIRM_HISTORY_DAYS;
}

/** "Based on 2 days of data; projections firm up after 7 days." */
export function thinHistoryNote(days: number): string {
  return `Based on ${historyLabel(days)} of data; projections firm up after ${plural(FIRM_HISTORY_DAYS, "day")}.`;
}
