import { lazy, StrictMode, Suspense } from "react";
import { createRoot } from "react-dom/client";
import { EmbeddedApp } from "./auth/EmbeddedApp";
import { ErrorState, Loading } from "./components/States";
import { clerkPublishableKey, convexUrl } from "./config";
import "./styles.css";

// The standalone portal: sign-in, then the library's <LlmmeterPortal> and
// data clients, the ones src/index.ts exports to an app's own admin portal.
// (They are imported from their modules, not through index.ts, so that the
// embedded build's first chunk leaves out the Convex client.) Clerk and the
// Convex client load only in Convex mode.
const ConvexApp = lazy(() => import("./auth/ConvexApp").then((m) => ({ default: m.ConvexApp })));

function Root() {
  if (convexUrl) {
    if (!clerkPublishableKey) {
      return <ErrorState title="Misconfigured" error={new Error("VITE_CONVEX_URL is set but VITE_CLERK_PUBLISHABLE_KEY is not.")} />;
    }
    return (
      <Suspense fallback={<Loading />}>
        <ConvexApp url={convexUrl} publishableKey={clerkPublishableKey} />
      </Suspense>
    );
  }
  return <EmbeddedApp />;
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
