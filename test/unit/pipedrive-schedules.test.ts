/**
 * The local schedules of integrations.json: a cron per system for the incremental sync and one for
 * the full reconciliation, each in the connection's time zone.
 */
import { describe, expect, it } from "vitest";
import { Integrations } from "@leadpipe/core";
import { syncSchedules } from "../../packages/local/src/sync-schedules";

const connections = Integrations.parseIntegrations(
  JSON.stringify({
    pipedrive: {
      api_url: "http://127.0.0.1:1",
      api_token: "t",
      schedule: "*/15 7-19 * * 1-5",
      full_schedule: "30 2 * * 0",
      timezone: "America/New_York",
    },
  }),
  "integrations.json",
);

describe("integration schedules (local)", () => {
  it("declares an incremental and a full job per system, in its time zone", () => {
    const jobs = syncSchedules(connections, "integrations.json", async () => undefined);
    try {
      expect(jobs.map((j) => [j.system, j.full, j.cron.getPattern()])).toEqual([
        ["pipedrive", false, "*/15 7-19 * * 1-5"],
        ["pipedrive", true, "30 2 * * 0"],
      ]);
      expect(syncSchedules({}, "integrations.json", async () => undefined)).toEqual([]);
    } finally {
      for (const j of jobs) j.cron.stop();
    }
  });

  it("runs the full reconciliation at 02:30 New York time on Sundays, across daylight saving", () => {
    const jobs = syncSchedules(connections, "integrations.json", async () => undefined);
    try {
      const full = jobs[1]!.cron;
      // 2026-11-01 is the Sunday daylight saving ends in New York: 02:30 EST is 07:30 UTC
      expect(full.nextRun(new Date("2026-10-31T12:00:00Z"))?.toISOString()).toBe("2026-11-01T07:30:00.000Z");
      expect(full.nextRun(new Date("2026-11-02T12:00:00Z"))?.toISOString()).toBe("2026-11-08T07:30:00.000Z");
      const inc = jobs[0]!.cron;
      expect(inc.nextRun(new Date("2026-12-07T11:50:00Z"))?.toISOString()).toBe("2026-12-07T12:00:00.000Z");
    } finally {
      for (const j of jobs) j.cron.stop();
    }
  });
});
