import { useAnnounce } from "../../components/Announcer";
import { ConfirmButton } from "../../components/ConfirmButton";
import { admin, type Quota } from "../../data/api";
import { useAdminMutation } from "../../data/hooks";
import { quotaLabel } from "./quotaTypes";

/**
 * Deletes one quota through llmmeter:deleteQuota, after a second click
 * (ConfirmButton), so a stray click cannot lift a limit. The result is
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
  const announce = useAnnounce();
  const label = quotaLabel(quota.quotaType).toLowerCase();
  return (
    <ConfirmButton
      label={
        action ?? (
          <>
            Delete<span className="sr-only"> the {label} quota</span>
          </>
        )
      }
      consequence={consequence}
      confirmHint={`deleting the ${label} quota`}
      keepHint={`the ${label} quota`}
      testId="delete-quota"
      act={async () => {
        const r = await del(userId === undefined ? { quotaType: quota.quotaType } : { userId, quotaType: quota.quotaType });
        announce(r.deleted ? `Quota deleted: ${label}.` : "That quota was already gone.");
        after?.();
      }}
    />
  );
}
