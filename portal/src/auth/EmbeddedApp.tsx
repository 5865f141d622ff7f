import { useCallback, useMemo, useState } from "react";
import { APP_MODULE } from "../data/api";
import type { AdminError } from "../data/errors";
import { httpDataClient } from "../library/httpDataClient";
import { LlmmeterPortal } from "../library/Portal";
import { clearKey, loadKey, saveKey } from "./session";
import { SignInPage } from "./SignInPage";

/** Embedded mode: admin API key sign-in, then the portal on the HTTP client. */
export function EmbeddedApp() {
  const [key, setKey] = useState<string | null>(loadKey);
  const [notice, setNotice] = useState<string | undefined>();
  const signOut = useCallback((why?: string) => {
    clearKey();
    setNotice(why);
    setKey(null);
  }, []);
  const data = useMemo(
    () =>
      httpDataClient({
        module: APP_MODULE,
        getToken: loadKey,
        onAuthError: (e: AdminError) => signOut(e.code === "forbidden" ? "This key is not an admin key." : "Your key is no longer valid."),
      }),
    [signOut],
  );
  const session = useMemo(() => ({ label: "Admin API key", signOut: () => signOut() }), [signOut]);
  if (!key) {
    return (
      <SignInPage
        module={APP_MODULE}
        notice={notice}
        onSignedIn={(k) => {
          saveKey(k);
          setNotice(undefined);
          setKey(k);
        }}
      />
    );
  }
  return <LlmmeterPortal client={data} base={import.meta.env.BASE_URL} session={session} />;
}
