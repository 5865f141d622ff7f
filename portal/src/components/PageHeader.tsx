import { type ReactNode, useEffect } from "react";

/** The document title of a page: its own name first, for tabs and history. */
export function useDocumentTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · llmmeter admin`;
  }, [title]);
}

/** A page's h1 (focused by the layout after navigation) and its title. */
export function PageHeader({ title, subtitle, actions }: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  useDocumentTitle(title);
  return (
    <header className="page-header">
      <div>
        <h1 tabIndex={-1}>{title}</h1>
        {subtitle && <p className="muted">{subtitle}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  );
}
