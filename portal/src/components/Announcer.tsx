import { createContext, type ReactNode, useCallback, useContext, useState } from "react";

const AnnounceContext = createContext<(message: string) => void>(() => {});

/**
 * One polite live region for the portal: results of actions (an alert
 * resolved, a quota saved, more rows loaded) are read out by screen readers
 * without moving focus. The region exists before any message, as live
 * regions inserted together with their text are often not announced.
 */
export function Announcer({ children }: { children: ReactNode }) {
  // A counter makes a repeated message a new text node, so it is read again.
  const [msg, setMsg] = useState({ text: "", n: 0 });
  const announce = useCallback((text: string) => setMsg((m) => ({ text, n: m.n + 1 })), []);
  return (
    <AnnounceContext.Provider value={announce}>
      {children}
      <div className="sr-only" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
        <span key={msg.n}>{msg.text}</span>
      </div>
    </AnnounceContext.Provider>
  );
}

/** Says `message` through the portal's live region (a no-op outside one). */
export function useAnnounce() {
  return useContext(AnnounceContext);
}
