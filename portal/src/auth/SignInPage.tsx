import { type FormEvent, useState } from "react";
import { admin } from "../data/api";
import { AdminHttpClient } from "../data/httpClient";
import { toAdminError } from "../data/errors";
import { functionPath } from "../data/functionPath";
import { useDocumentTitle } from "../components/PageHeader";

/** Embedded mode's sign-in: an admin API key, checked with one admin query. */
export function SignInPage({ onSignedIn, notice, module }: { onSignedIn: (key: string) => void; notice?: string; module: string }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);
  useDocumentTitle("Sign in");

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) return setError("Enter an admin API key.");
    setBusy(true);
    setError(undefined);
    try {
      const client = new AdminHttpClient({ getToken: () => k, module });
      const to = Date.now();
      await client.query(functionPath(module, admin.overview), { from: to - 3_600_000, to });
      onSignedIn(k);
    } catch (err) {
      const a = toAdminError(err);
      setError(
        a.code === "forbidden"
          ? "This key is not an admin key."
          : a.code === "unauthenticated"
            ? "Unknown or revoked key."
            : a.message,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="signin-card" onSubmit={submit}>
        <h1>llmmeter admin</h1>
        <p className="muted">Sign in with an admin API key. It is kept in this tab only.</p>
        <label htmlFor="api-key">Admin API key</label>
        <input
          id="api-key"
          type="password"
          autoComplete="off"
          placeholder="llm_…"
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
        <p className="hint">
          Create one with <code>llmmeterctl keys create -user ops -admin</code>.
        </p>
      </form>
    </main>
  );
}
