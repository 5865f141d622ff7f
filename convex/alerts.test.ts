/**
 * The alert lifecycle routes of the Go alert job (/jobs/alerts/open,
 * /escalate, /resolve, /list) with the admin mutations that act on alerts
 * (acknowledge, silence, resolve by hand). The rule of which route the job
 * calls is Go's (jobs.AlertChange); these pin what each write does.
 */
import { beforeEach, describe, expect, test, vi } from "vitest";
import { api } from "./_generated/api";
import { ADMIN, newBackend, post, SECRET, T0 } from "./test.setup";

beforeEach(() => {
  vi.stubEnv("INGEST_SECRET", SECRET);
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0 + 60_000);
});

const quota = { conditionKey: "quota:q1", alertType: "quota_threshold", message: "80% used" };

describe("alert lifecycle", () => {
  test("escalates in place with its history; clears acknowledgement and lastNotifiedAt", async () => {
    const t = newBackend();
    const admin = t.withIdentity(ADMIN);
    const a = await post(t, "/jobs/alerts/open", { ...quota, severity: "info", at: T0 });
    expect(a.json).toMatchObject({ created: true, alert: { severity: "info", history: [{ severity: "info", at: T0 }], createdAt: T0 } });
    const id = a.json.alertId;
    await post(t, "/jobs/alerts/notified", { alertId: id, at: T0 + 1 });
    expect(await admin.mutation(api.llmmeter.acknowledgeAlert, { alertId: id })).toEqual({ acknowledged: true });
    expect(await admin.mutation(api.llmmeter.acknowledgeAlert, { alertId: id })).toEqual({ acknowledged: false });

    const esc = await post(t, "/jobs/alerts/escalate", { alertId: id, alertType: "quota_threshold", severity: "critical", message: "100% used", at: T0 + 5 });
    expect(esc.json).toEqual({ escalated: true });
    const [row] = await admin.query(api.llmmeter.alerts, { status: "open" });
    expect(row).toMatchObject({
      id,
      severity: "critical",
      message: "100% used",
      history: [
        { severity: "info", at: T0 },
        { severity: "critical", at: T0 + 5 },
      ],
      acknowledgedAt: null,
      lastNotifiedAt: null,
      isRead: false,
    });
    // A second open for the condition returns the open row.
    expect((await post(t, "/jobs/alerts/open", { ...quota, severity: "warning" })).json).toMatchObject({ alertId: id, created: false });
  });

  test("escalating a resolved alert does nothing; bad ids are 4xx", async () => {
    const t = newBackend();
    const id = (await post(t, "/jobs/alerts/open", { ...quota, severity: "info" })).json.alertId;
    await post(t, "/jobs/alerts/resolve", { conditionKey: quota.conditionKey, at: T0 + 2 });
    const body = { alertId: id, alertType: "x", severity: "critical", message: "m" };
    expect((await post(t, "/jobs/alerts/escalate", body)).json).toEqual({ escalated: false });
    expect((await post(t, "/jobs/alerts/escalate", { ...body, alertId: "nope" })).status).toBe(400);
    expect((await post(t, "/jobs/alerts/escalate", { ...body, severity: "fatal" })).status).toBe(400);
  });

  test("resolved by hand: held (listed for the job) until the condition clears; a new row releases it", async () => {
    const t = newBackend();
    const admin = t.withIdentity(ADMIN);
    const first = (await post(t, "/jobs/alerts/open", { ...quota, severity: "warning" })).json.alertId;
    expect(await admin.mutation(api.llmmeter.resolveAlert, { alertId: first })).toEqual({ resolved: true });
    let live = (await post(t, "/jobs/alerts/list", { limit: 10 })).json.alerts;
    expect(live).toMatchObject([{ id: first, isResolved: true }]);
    // Higher severity: a new row opens and the held one is released.
    const second = (await post(t, "/jobs/alerts/open", { ...quota, severity: "critical" })).json.alertId;
    expect(second).not.toBe(first);
    live = (await post(t, "/jobs/alerts/list", { limit: 10 })).json.alerts;
    expect(live.map((a: any) => a.id)).toEqual([second]);
    // Resolved by hand again, then the condition clears: re-armed.
    await admin.mutation(api.llmmeter.resolveAlert, { alertId: second });
    expect((await post(t, "/jobs/alerts/resolve", { conditionKey: quota.conditionKey, at: T0 + 9 })).json).toEqual({ resolved: 1 });
    expect((await post(t, "/jobs/alerts/list", { limit: 10 })).json.alerts).toEqual([]);
  });

  test("a silence carries over to the condition's next row while it lasts", async () => {
    const t = newBackend();
    const admin = t.withIdentity(ADMIN);
    const first = (await post(t, "/jobs/alerts/open", { ...quota, severity: "info", at: T0 })).json.alertId;
    const until = T0 + 3_600_000;
    expect(await admin.mutation(api.llmmeter.silenceAlert, { alertId: first, until })).toEqual({ silencedUntil: until });
    await post(t, "/jobs/alerts/resolve", { conditionKey: quota.conditionKey, at: T0 + 10 });
    const again = await post(t, "/jobs/alerts/open", { ...quota, severity: "info", at: T0 + 20 });
    expect(again.json.alert.silencedUntil).toBe(until);
    await post(t, "/jobs/alerts/resolve", { conditionKey: quota.conditionKey, at: T0 + 30 });
    const late = await post(t, "/jobs/alerts/open", { ...quota, severity: "info", at: until });
    expect(late.json.alert.silencedUntil).toBeNull();
  });

  test("the badge counts open alerts", async () => {
    const t = newBackend();
    const admin = t.withIdentity(ADMIN);
    for (const [i, severity] of (["critical", "warning", "critical"] as const).entries()) {
      await post(t, "/jobs/alerts/open", { ...quota, conditionKey: `k${i}`, severity });
    }
    await post(t, "/jobs/alerts/resolve", { conditionKey: "k2" });
    expect(await admin.query(api.llmmeter.openAlertCount, {})).toEqual({ open: 2, critical: 1, capped: false });
  });
});
