import { ClerkProvider, SignIn, useAuth, useClerk, useUser } from "@clerk/clerk-react";
import { Authenticated, AuthLoading, ConvexReactClient, Unauthenticated } from "convex/react";
import { ConvexProviderWithClerk } from "convex/react-clerk";
import { useMemo } from "react";
import { Loading } from "../components/States";
import { APP_MODULE } from "../data/api";
import { convexDataClient } from "../library/convexDataClient";
import { LlmmeterPortal } from "../library/Portal";

function ClerkPortal({ client }: { client: ConvexReactClient }) {
  const { user } = useUser();
  const clerk = useClerk();
  const session = useMemo(
    () => ({ label: user?.primaryEmailAddress?.emailAddress ?? user?.id ?? "", signOut: () => void clerk.signOut() }),
    [user, clerk],
  );
  const data = useMemo(() => convexDataClient({ client, module: APP_MODULE }), [client]);
  return <LlmmeterPortal client={data} base={import.meta.env.BASE_URL} session={session} />;
}

/**
 * Convex mode: Clerk sign-in, Convex's reactive client authenticated with
 * Clerk's token. Admin functions check the `role: "admin"` claim; a signed-in
 * user without it sees "forbidden" on every page.
 */
export function ConvexApp({ url, publishableKey }: { url: string; publishableKey: string }) {
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
          <ClerkPortal client={client} />
        </Authenticated>
      </ConvexProviderWithClerk>
    </ClerkProvider>
  );
}
