/** The local schedule of the RingCentral sync: integrations.json's "schedule" cron in its "timezone". */
import { describe, expect, it } from "vitest";
import { syncSchedules } from "../../packages/local/src/sync-schedules";

const conn = { server_url: "http://127.0.0.1:9", client_id: "c", client_secret: "s", jwt: "j" };

describe("ringcentral sync schedule", () => {
  it("runs on its cron in its time zone, across daylight saving", () => {
    const [job, ...rest] = syncSchedules(
      { ringcentral: { ...conn, schedule: "15 6 * * *", timezone: "America/Chicago" } },
      "integrations.json",
      async () => undefined,
    );
    expect(rest).toEqual([]);
    expect(job!.system).toBe("ringcentral");
    // 06:15 in Chicago: 12:15 UTC in winter (CST), 11:15 UTC in summer (CDT)
    expect(job!.cron.nextRun(new Date("2026-12-07T00:00:00Z"))!.toISOString()).toBe("2026-12-07T12:15:00.000Z");
    expect(job!.cron.nextRun(new Date("2026-07-01T00:00:00Z"))!.toISOString()).toBe("2026-07-01T11:15:00.000Z");
    job!.cron.stop();
  });

  it("declares nothing without a schedule, and names a bad cron or time zone", () => {
    expect(syncSchedules({ ringcentral: conn }, "integrations.json", async () => undefined)).toEqual([]);
    expect(() =>
      syncSchedules({ ringcentral: { ...conn, schedule: "61 * * * *" } }, "integrations.json", async () => undefined),
    ).toThrow(/integrations.json: ringcentral.schedule "61 \* \* \* \*"/);
    expect(() =>
      syncSchedules(
        { ringcentral: { ...conn, schedule: "0 6 * * *", timezone: "Mars/Olympus" } },
        "integrations.json",
        async () => undefined,
      ),
    ).toThrow(/Mars\/Olympus/);
  });
});
