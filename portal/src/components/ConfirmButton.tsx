import { useEffect, useRef, useState, type ReactNode } from "react";
import { toAdminError } from "../data/errors";

/**
 * A button that acts only after a second click ("Confirm"), so a stray
 * click cannot lift a limit or refuse every user's calls. Armed, it says
 * what the action means (`consequence`), moves focus to Confirm, and shows
 * the action's error in place; Keep disarms it. `act` runs the action and
 * announces its outcome; the testids are `confirm-<testId>` and
 * `<testId>-consequence`.
 */
export function ConfirmButton({
  label,
  consequence,
  confirmHint,
  keepHint,
  testId,
  act,
}: {
  label: ReactNode;
  consequence?: ReactNode;
  /** Screen-reader text after "Confirm" and "Keep". */
  confirmHint: string;
  keepHint: string;
  testId: string;
  act: () => Promise<void>;
}) {
  const [armed, setArmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (armed) confirm.current?.focus();
  }, [armed]);
  const run = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await act();
      setArmed(false);
    } catch (e) {
      setError(toAdminError(e).message);
    } finally {
      setBusy(false);
    }
  };
  if (!armed)
    return (
      <button type="button" className="btn small" onClick={() => setArmed(true)}>
        {label}
      </button>
    );
  return (
    <span className="downloads">
      {consequence && <span data-testid={`${testId}-consequence`}>{consequence}</span>}
      <button ref={confirm} type="button" className="btn small danger" aria-disabled={busy} onClick={run} data-testid={`confirm-${testId}`}>
        Confirm<span className="sr-only"> {confirmHint}</span>
      </button>
      <button type="button" className="btn small link" onClick={() => setArmed(false)}>
        Keep<span className="sr-only"> {keepHint}</span>
      </button>
      {error && (
        <span className="form-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
