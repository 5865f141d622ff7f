import { admin, type Quota } from "../../data/api";
import { useAdminQuery } from "../../data/hooks";

/**
 * The active system budget through llmmeter:quotas {system: true} (one
 * O(1) read, not every quota): null when none is set or it is inactive,
 * undefined while loading.
 */
export function useSystemBudget(): Quota | null | undefined {
  const q = useAdminQuery(admin.quotas, { system: true });
  return q.data === undefined ? undefined : (q.data.find((b) => b.isActive) ?? null);
}
