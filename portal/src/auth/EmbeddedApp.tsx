import { type ReactNode, useCallback, useMemo, useState } from "react";
import { BackendContext } from "../data/backend";
import type { AdminError } from "../data/errors";
import { httpBackend, HttpSettingsContext } from "../data/httpBackend";
import { AdminHttpClient } from "../data/httpClient";
import { SessionContext } from "./sessionContext";
import { clearKey, loadKey, saveKey } from "./session";
import { SignInPage } from "./SignInPage";

const REFRESH_MS = 5_000;

/** Embedded mode: admin API key sign-in, then the app on the HTTP client. */
export function EmbeddedApp({ children }: { children: ReactNode }) {
  const [key, setKey] = useState<string | null>(loadKey);
  const [notice, setNotice] = useState<string | undefined>();
  const client = useMemo(() => new AdminHttpClient({ getToken: loadKey }), []);
  const signOut = useCallback((why?: string) => {
    clearKey();
    setNotice(why);
    setKey(null);
  }, []);
  const onAuthError = useCallback(
    (e: AdminError) => signOut(e.code === "forbidden" ? "This key is not an admin key." : "Your key is no longer valid."),
    [signOut],
  );
  const settings = useMemo(() => ({ client, refreshMs: REFRESH_MS, onAuthError }), [client, onAuthError]);
  if (!key) {
    return (
      <SignInPage
        notice={notice}
        onSignedIn={(k) => {
          saveKey(k);
          setNotice(undefined);
          setKey(k);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={{ label: "Admin API key", signOut: () => signOut() }}>
      <HttpSettingsContext.Provider value={settings}>
        <BackendContext.Provider value={httpBackend}>{children}</BackendContext.Provider>
      </HttpSettingsContext.Provider>
    </SessionContext.Provider>
  );
}
