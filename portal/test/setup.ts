import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

// findBy* and waitFor give up after 1 s by default: on a busy machine a
// render can take longer than that, and a test must fail on its
// assertions, not its pace.
configure({ asyncUtilTimeout: 30_000 });

afterEach(() => {
  cleanup();
  sessionStorage.clear();
  // The range and filters live in the URL: each test starts from a clean one.
  window.history.replaceState(null, "", "/admin/");
});
