import type { ReactNode } from "react";
import type { AdminError } from "../data/errors";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

const HINTS: Record<string, string> = {
  unauthenticated: "Sign in again.",
  forbidden: "Your account is not an admin.",
  network: "Check that the service is running.",
};

/** What to do about an error: by its code, and for a refused request only when the window was too large (the message names any other problem itself). */
function hintOf(code: string | undefined, message: string): string | undefined {
  if (code === "bad_request") return /window too large/.test(message) ? "Try a narrower time range." : undefined;
  return code ? HINTS[code] : undefined;
}

/**
 * An error from an admin function, shown as text (never as HTML). An outage
 * (the service did not answer) is shown once, by the OutageBanner, not here.
 */
export function ErrorState({ error, title = "Could not load this data" }: { error: AdminError | Error; title?: string }) {
  if ((error as Partial<AdminError>).isOutage) return null;
  const hint = hintOf("code" in error ? (error as AdminError).code : undefined, error.message);
  return (
    <div className="state state-error" role="alert">
      <strong>{title}</strong>
      <div>{error.message}</div>
      {hint && <div className="muted">{hint}</div>}
    </div>
  );
}

/**
 * Renders a query's state: its error, a loading placeholder, an empty
 * message, or the children with the data.
 */
export function QueryView<T>({
  state,
  isEmpty,
  empty,
  children,
}: {
  state: { data: T | undefined; error: AdminError | undefined; loading: boolean };
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (state.data === undefined) {
    if (state.error?.isOutage) return <Loading label="Waiting for the service…" />;
    if (state.error) return <ErrorState error={state.error} />;
    return <Loading />;
  }
  if (isEmpty?.(state.data)) return <>{empty ?? <Empty title="No data in this range" />}</>;
  return (
    <>
      {state.error && <ErrorState error={state.error} title="Refresh failed; showing the last data" />}
      {children(state.data)}
    </>
  );
}
