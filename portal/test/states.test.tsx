import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ErrorState } from "../src/components/States";
import type { AdminError } from "../src/data/errors";

const err = (code: string, message: string) => Object.assign(new Error(message), { code }) as unknown as AdminError;

describe("ErrorState hints", () => {
  // Every refused request used to end with "try a narrower time range", an
  // unknown user's page and a budget over the maximum included.
  it("suggests a narrower range only for a window too large", () => {
    render(<ErrorState error={err("bad_request", "window too large: more than 20000 aggregate rows or 8388608 bytes; narrow from/to")} />);
    expect(screen.getByText("Try a narrower time range.")).toBeTruthy();
  });
  it("adds nothing to a refusal that names its problem", () => {
    const { container } = render(<ErrorState error={err("bad_request", "userId: not a users id")} />);
    expect(container.textContent).toBe("Could not load this datauserId: not a users id");
  });
  it("keeps the hints of the other codes", () => {
    render(<ErrorState error={err("forbidden", "admin role required")} />);
    expect(screen.getByText("Your account is not an admin.")).toBeTruthy();
  });
});
