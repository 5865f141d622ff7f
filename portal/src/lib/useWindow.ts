import { useMemo } from "react";
import { type RangeKey, type Window, windowFor } from "./range";
import { useNow } from "./useNow";

/** The window of a range, stable until the hour changes. */
export function useWindow(key: RangeKey): Window {
  const now = useNow();
  const { from, to } = windowFor(key, now);
  return useMemo(() => ({ from, to }), [from, to]);
}
