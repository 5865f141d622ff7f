import { admin, type Quota } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";

/**
 * The stored system budget through llmmeter:quotas {system: true} (one
 * O(1) read, not every quota), active or not: both engines answer an
 * inactive budget too, with isActive false. Null when none is set,
 * undefined while loading. The Budget page shows an inactive one, to
 * re-activate or remove it.
 */
export function useStoredSystemBudget(): Quota | null | undefined {
  const q = useAdminQuery(admin.quotas, { system: true });
  return q.data === undefined ? undefined : (q.data[0] ?? null);
}

/**
 * The system budget in force: null when none is set or it is inactive
 * (an inactive budget refuses no call), undefined while loading.
 */
export function useSystemBudget(): Quota | null | undefined {
  const b = useStoredSystemBudget();
  return b === undefined ? undefined : b !== null && b.isActive ? b : null;
}
