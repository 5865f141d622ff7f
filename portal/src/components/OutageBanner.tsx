import { useConnection } from "../data/hooks";

/**
 * The one notice of an outage: every query's own network error is left
 * unsaid (States.tsx), so a page with many queries shows one banner.
 */
export function OutageBanner() {
  const { unreachable } = useConnection();
  if (!unreachable) return null;
  return (
    <div className="state state-error" role="alert" data-testid="outage">
      <strong>The llmmeter service is unreachable</strong>
      <div>Showing the last data received; retrying every few seconds.</div>
    </div>
  );
}
