import { type FormEvent, useId, useState } from "react";
import { useAnnounce } from "../../components/Announcer";
import { admin, type Quota } from "../../data/api";
import { useAdminMutation } from "../../data/hooks";
import { toAdminError } from "../../data/errors";
import { usdLimit } from "../../lib/money";
import { isCost, quotaUsage, USER_QUOTA_TYPES } from "./quotaTypes";

type UserQuotaType = (typeof USER_QUOTA_TYPES)[number]["type"];

/**
 * Creates or changes one of the user's quotas through llmmeter:setQuota. The
 * error is tied to the limit field (aria-invalid, aria-describedby); the
 * button is aria-disabled while saving so focus stays on it, and the result
 * is announced through the portal's live region.
 */
export function QuotaForm({ userId, quotas }: { userId: string; quotas: Quota[] }) {
  const setQuota = useAdminMutation(admin.setQuota);
  const [type, setType] = useState<UserQuotaType>("monthly_cost_usd");
  const existing = quotas.find((q) => q.quotaType === type);
  const [limit, setLimit] = useState("");
  // The box shows the quota's own state until it is changed: a box always
  // ticked turned an inactive quota back on at its next edit.
  const [activeEdit, setActiveEdit] = useState<boolean | undefined>(undefined);
  const active = activeEdit ?? existing?.isActive ?? true;
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const announce = useAnnounce();
  const errorId = useId();
  const invalid = status !== null && !status.ok;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    let value: number;
    if (isCost(type)) {
      const usd = usdLimit(limit);
      if (usd === null) return setStatus({ ok: false, text: "Enter a dollar amount, e.g. 25 or 12.50." });
      value = usd;
    } else {
      if (!/^\d+$/.test(limit.trim())) return setStatus({ ok: false, text: "Enter a whole number." });
      value = Number(limit.trim());
    }
    setBusy(true);
    setStatus(null);
    try {
      const r = await setQuota({ userId, quotaType: type, limit: value, isActive: active });
      const text = r.created ? "Quota created." : "Quota updated.";
      setStatus({ ok: true, text });
      announce(text);
      setLimit("");
      setActiveEdit(undefined);
    } catch (err) {
      setStatus({ ok: false, text: toAdminError(err).message });
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="quota-form" onSubmit={submit} aria-label="Edit quota">
      <h3>{existing ? "Change a quota" : "Add a quota"}</h3>
      <div className="form-row">
        <label>
          Type
          <select
            aria-label="Quota type"
            value={type}
            onChange={(e) => {
              setType(e.target.value as UserQuotaType);
              setActiveEdit(undefined);
            }}
          >
            {USER_QUOTA_TYPES.map((q) => (
              <option key={q.type} value={q.type}>
                {q.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Limit
          <input
            aria-label="Quota limit"
            inputMode="decimal"
            placeholder={existing ? `now ${quotaUsage(existing).limit}` : isCost(type) ? "25.00" : "1000"}
            value={limit}
            aria-invalid={invalid}
            aria-describedby={invalid ? errorId : undefined}
            onChange={(e) => setLimit(e.target.value)}
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={active} onChange={(e) => setActiveEdit(e.target.checked)} />
          Active
        </label>
        <button className="btn primary" type="submit" aria-disabled={busy}>
          {busy ? "Saving…" : "Save quota"}
        </button>
      </div>
      {status && (
        <p className={status.ok ? "form-ok" : "form-error"} id={status.ok ? undefined : errorId} role={status.ok ? undefined : "alert"}>
          {status.text}
        </p>
      )}
    </form>
  );
}
