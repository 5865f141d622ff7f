import { type MouseEvent, type ReactNode, useRef } from "react";
import { useSession } from "../auth/sessionContext";
import { useDataMode } from "../data/hooks";
import { browserTimeZone } from "../lib/time";
import { useReportingTz } from "../lib/useRange";
import { Link, useRouter } from "../router/router";
import { AlertBadge } from "./AlertBadge";
import { Announcer } from "./Announcer";
import { usePageFocus } from "./usePageFocus";

export const NAV: { to: string; label: string }[] = [
  { to: "/", label: "Overview" },
  { to: "/usage", label: "Usage" },
  { to: "/users", label: "Users" },
  { to: "/models", label: "Models" },
  { to: "/requests", label: "Requests" },
  { to: "/errors", label: "Errors" },
  { to: "/alerts", label: "Alerts" },
  { to: "/reports", label: "Reports" },
  { to: "/forecast", label: "Budget" },
  { to: "/jobs", label: "Job runs" },
];

function isActive(to: string, path: string) {
  return to === "/" ? path === "/" : path === to || path.startsWith(to + "/");
}

export function Layout({ children }: { children: ReactNode }) {
  const { path } = useRouter();
  const session = useSession();
  const mode = useDataMode();
  const reportingTz = useReportingTz();
  const main = useRef<HTMLElement>(null);
  usePageFocus(path, main);
  // The skip link focuses <main> itself: a #fragment would land in the router's URL.
  const skip = (e: MouseEvent<HTMLAnchorElement>) => {
    e.preventDefault();
    main.current?.focus();
  };
  return (
    <div className="layout">
      <a className="skip-link" href="#main" onClick={skip}>
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          llmmeter
        </div>
        <ul>
          {NAV.map((n) => (
            <li key={n.to}>
              <Link to={n.to} className={isActive(n.to, path) ? "active" : ""} aria-current={isActive(n.to, path) ? "page" : undefined}>
                {n.label}
                {n.to === "/alerts" && <AlertBadge />}
              </Link>
            </li>
          ))}
        </ul>
        <div className="sidebar-foot">
          <div className="muted small">
            {mode === "convex" ? "Convex" : "Embedded"} · times in {browserTimeZone()}
            {reportingTz && reportingTz !== browserTimeZone() && <> · periods in {reportingTz}</>}
          </div>
          <div className="muted small">{session.label}</div>
          <button type="button" className="btn link" onClick={session.signOut}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="content" id="main" tabIndex={-1} ref={main}>
        <Announcer>{children}</Announcer>
      </main>
    </div>
  );
}
