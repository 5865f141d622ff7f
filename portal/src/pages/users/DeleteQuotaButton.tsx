import { useEffect, useRef, useState } from "react";
import { useAnnounce } from "../../components/Announcer";
import { admin, type Quota } from "../../data/api";
import { useAdminMutation } from "../../data/hooks";
import { toAdminError } from "../../data/errors";
import { quotaLabel } from "./quotaTypes";

/**
 * Deletes one quota through llmmeter:deleteQuota, after a second click
 * ("Confirm"), so a stray click cannot lift a limit. The result is
 * announced; on success the row goes away and focus moves to `after`
 * (the quotas heading) rather than dropping to the page. The system budget
 * has no userId; its button says `action` ("Remove budget") and the
 * confirmation says `consequence`, what lifting it means.
 */
export function DeleteQuotaButton({
  userId,
  quota,
  after,
  action,
  consequence,
}: {
  userId?: string;
  quota: Quota;
  after?: () => void;
  action?: string;
  consequence?: string;
}) {
  const del = useAdminMutation(admin.deleteQuota);
  const [armed, setArmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const announce = useAnnounce();
  const confirm = useRef<HTMLButtonElement>(null);
  const label = quotaLabel(quota.quotaType).toLowerCase();
  useEffect(() => {
    if (armed) confirm.current?.focus();
  }, [armed]);
  const run = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const r = await del(userId === undefined ? { quotaType: quota.quotaType } : { userId, quotaType: quota.quotaType });
      announce(r.deleted ? `Quota deleted: ${label}.` : "That quota was already gone.");
      after?.();
    } catch (e) {
      setError(toAdminError(e).message);
      setBusy(false);
    }
  };
  if (!armed)
    return (
      <button type="button" className="btn small" onClick={() => setArmed(true)}>
        {action ?? (
          <>
            Delete<span className="sr-only"> the {label} quota</span>
          </>
        )}
      </button>
    );
  return (
    <span className="downloads">
      {consequence && <span data-testid="delete-quota-consequence">{consequence}</span>}
      <button ref={confirm} type="button" className="btn small danger" aria-disabled={busy} onClick={run} data-testid="confirm-delete-quota">
        Confirm<span className="sr-only"> deleting the {label} quota</span>
      </button>
      <button type="button" className="btn small link" onClick={() => setArmed(false)}>
        Keep<span className="sr-only"> the {label} quota</span>
      </button>
      {error && (
        <span className="form-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
