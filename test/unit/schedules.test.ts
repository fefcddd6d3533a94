import { Cron } from "croner";
import { describe, expect, it } from "vitest";
import { fromEventBridge } from "../../packages/local/src/schedules";
import { stageConfig } from "../../stacks/config";

describe("local schedules from EventBridge expressions", () => {
  it("translate cron(...) to five UTC fields", () => {
    expect(fromEventBridge("cron(0 22 * * ? *)")).toBe("0 22 * * *");
    expect(fromEventBridge("cron(30 6 ? * 2-6 *)")).toBe("30 6 * * 1-5");
    expect(fromEventBridge("cron(15 10 ? * MON-FRI 2026)")).toBe("15 10 * * MON-FRI");
    expect(() => fromEventBridge("rate(15 minutes)")).toThrow(/not an EventBridge cron/);
  });

  it("fire the lead hand-off when EventBridge would", () => {
    const job = new Cron(fromEventBridge(stageConfig("local").schedules.leadHandoff), {
      timezone: "UTC",
      paused: true,
    });
    expect(job.nextRun(new Date("2026-11-20T21:59:00Z"))?.toISOString()).toBe("2026-11-20T22:00:00.000Z");
    expect(job.nextRun(new Date("2026-11-20T22:00:00Z"))?.toISOString()).toBe("2026-11-21T22:00:00.000Z");
    job.stop();
  });
});
