import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => {
  cleanup();
  sessionStorage.clear();
  // The range and filters live in the URL: each test starts from a clean one.
  window.history.replaceState(null, "", "/admin/");
});
