/**
 * The local schedules of integrations.json: a cron per system for the incremental sync and one for
 * the full reconciliation, each in the connection's time zone.
 */
import { describe, expect, it } from "vitest";
import { createLogger, Integrations } from "../../packages/core/src/index";
import { integrationJobs, startIntegrationSchedules } from "../../packages/local/src/integrations";

const connections = Integrations.parseIntegrations(
  JSON.stringify({
    pipedrive: {
      api_url: "http://127.0.0.1:1",
      api_token: "t",
      schedule: "*/15 7-19 * * 1-5",
      full_schedule: "30 2 * * 0",
      time_zone: "America/New_York",
    },
  }),
  "integrations.json",
);

describe("integration schedules (local)", () => {
  it("declares an incremental and a full job per system, in its time zone", () => {
    expect(integrationJobs(connections)).toEqual([
      { system: "pipedrive", full: false, cron: "*/15 7-19 * * 1-5", timezone: "America/New_York" },
      { system: "pipedrive", full: true, cron: "30 2 * * 0", timezone: "America/New_York" },
    ]);
    expect(integrationJobs({})).toEqual([]);
  });

  it("runs the full reconciliation at 02:30 New York time on Sundays, across daylight saving", () => {
    const s = startIntegrationSchedules(
      connections,
      { pool: undefined as never, log: createLogger({}, () => undefined) },
      () => undefined,
    );
    try {
      const full = s.jobs[1]!;
      // 2026-11-01 is the Sunday daylight saving ends in New York: 02:30 EST is 07:30 UTC
      expect(full.nextRun(new Date("2026-10-31T12:00:00Z"))?.toISOString()).toBe("2026-11-01T07:30:00.000Z");
      expect(full.nextRun(new Date("2026-11-02T12:00:00Z"))?.toISOString()).toBe("2026-11-08T07:30:00.000Z");
      const inc = s.jobs[0]!;
      expect(inc.nextRun(new Date("2026-12-07T11:50:00Z"))?.toISOString()).toBe("2026-12-07T12:00:00.000Z");
    } finally {
      s.stop();
    }
  });
});
