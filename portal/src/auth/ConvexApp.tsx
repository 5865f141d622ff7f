import { ClerkProvider, SignIn, useAuth, useClerk, useUser } from "@clerk/clerk-react";
import { Authenticated, AuthLoading, ConvexReactClient, Unauthenticated } from "convex/react";
import { ConvexProviderWithClerk } from "convex/react-clerk";
import { type ReactNode, useMemo } from "react";
import { BackendContext } from "../data/backend";
import { convexBackend } from "../data/convexBackend";
import { SessionContext } from "./sessionContext";
import { Loading } from "../components/States";

function ClerkSession({ children }: { children: ReactNode }) {
  const { user } = useUser();
  const clerk = useClerk();
  const value = useMemo(
    () => ({ label: user?.primaryEmailAddress?.emailAddress ?? user?.id ?? "", signOut: () => void clerk.signOut() }),
    [user, clerk],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/**
 * Convex mode: Clerk sign-in, Convex's reactive client authenticated with
 * Clerk's token. Admin functions check the `role: "admin"` claim; a signed-in
 * user without it sees "forbidden" on every page.
 */
export function ConvexApp({ url, publishableKey, children }: { url: string; publishableKey: string; children: ReactNode }) {
  const client = useMemo(() => new ConvexReactClient(url), [url]);
  return (
    <ClerkProvider publishableKey={publishableKey} afterSignOutUrl={import.meta.env.BASE_URL}>
      <ConvexProviderWithClerk client={client} useAuth={useAuth}>
        <AuthLoading>
          <Loading label="Signing in…" />
        </AuthLoading>
        <Unauthenticated>
          <main className="signin">
            <SignIn routing="hash" />
          </main>
        </Unauthenticated>
        <Authenticated>
          <ClerkSession>
            <BackendContext.Provider value={convexBackend}>{children}</BackendContext.Provider>
          </ClerkSession>
        </Authenticated>
      </ConvexProviderWithClerk>
    </ClerkProvider>
  );
}
