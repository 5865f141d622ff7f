import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ModelsPage, percentiles } from "../src/pages/ModelsPage";
import { fakeService } from "./fakeService";

const stat = {
  requests: 20, successful: 20, failed: 0, totalTokens: 100, costNanoUsd: 5_000_000, costUsd: 0.005, avgProcessingMs: 900,
  p95ProcessingMs: 32000, errorRate: 0,
};

describe("ModelsPage", () => {
  it("shows p50/p95/p99 latency and TTFT per model; a model without TTFT samples shows dashes", async () => {
    const svc = fakeService({
      "llmmeter:modelStats": () => [
        { ...stat, model: "a/streams", p50LatencyMs: 711, p95LatencyMs: 20195, p99LatencyMs: 31554, p50TtftMs: 233, p95TtftMs: 1110, p99TtftMs: 2168 },
        { ...stat, model: "b/never-streams", costNanoUsd: 1, p50LatencyMs: 95, p95LatencyMs: 888, p99LatencyMs: null, p50TtftMs: null, p95TtftMs: null, p99TtftMs: null },
      ],
    });
    render(
      <svc.Providers>
        <ModelsPage />
      </svc.Providers>,
    );
    const table = await screen.findByTestId("models-table");
    const a = within(table).getByText("a/streams").closest("tr")!;
    expect(within(a).getByText("711 ms / 20.2 s / 31.6 s")).toBeTruthy();
    expect(within(a).getByText("233 ms / 1.1 s / 2.2 s")).toBeTruthy();
    const b = within(table).getByText("b/never-streams").closest("tr")!;
    expect(within(b).getByText("95 ms / 888 ms / —")).toBeTruthy();
    expect(within(b).getByText("— / — / —")).toBeTruthy();
    expect(svc.calls.some((c) => c.path === "llmmeter:modelStats")).toBe(true);
  });

  it("formats null percentiles as a dash, never as the coarse '> 64 s'", () => {
    expect(percentiles(25, null, 717465)).toBe("25 ms / — / 717.5 s");
  });
});
