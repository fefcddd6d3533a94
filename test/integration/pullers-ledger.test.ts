import { describe, expect, it } from "vitest";
import { Pullers } from "@leadpipe/core";
import { useDatabase, type DatabaseUse } from "../support/database";

let db: DatabaseUse;
useDatabase("leadpipe-pullers-ledger-", (d) => (db = d), 120_000);

const spec = (name: string, extra: Record<string, unknown> = {}) =>
  Pullers.PullerSpec.parse({
    name,
    transport: "sftp",
    host: "sftp.example",
    username: "u",
    password: "p",
    host_key: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
    dir: "/out",
    pattern: "*.csv",
    schedule: "0 6 * * *",
    timezone: "America/New_York",
    expected_by: "09:00",
    ...extra,
  });

async function file(puller: string, path: string, state: string, landedAt: string | null, reason?: string) {
  await db.pool.query(
    `INSERT INTO puller_files (puller, path, size, modified_at, state, landed_at, reason, last_seen_at)
     VALUES ($1, $2, 10, now(), $3, $4, $5, coalesce($4::timestamptz, now()))`,
    [puller, path, state, landedAt, reason ?? null],
  );
}

describe("the pullers' ledger queries (core)", () => {
  it("missingFiles decides as checkExpected does, in the puller's time zone, without alerting", async () => {
    const ny = spec("ny");
    const other = spec("other", { timezone: "UTC", expected_by: "23:00" });
    const push = spec("push", { direction: "push", expected_by: undefined, schedule: undefined });
    // landed 2026-12-07 03:00 UTC = 2026-12-06 22:00 in New York: the 6th's file, not the 7th's
    await file("ny", "/out/a.csv", "landed", "2026-12-07T03:00:00Z");
    const alerts: string[] = [];
    const deps = { pool: db.pool, notifier: { alert: async (s: string) => void alerts.push(s) } };
    const at = (iso: string) => new Date(iso);
    // 08:00 New York on the 7th: not due yet
    expect(await Pullers.missingFiles([ny, other, push], db.pool, at("2026-12-07T13:00:00Z"))).toEqual([]);
    // 09:30 New York: due, nothing landed on the 7th (local); "other" is due at 23:00 UTC only
    const due = await Pullers.missingFiles([ny, other, push], db.pool, at("2026-12-07T14:30:00Z"));
    expect(due).toEqual([
      {
        puller: "ny",
        day: "2026-12-07",
        expected_by: "09:00",
        timezone: "America/New_York",
        what: "*.csv in /out on sftp.example",
      },
    ]);
    expect(alerts).toEqual([]);
    expect(await Pullers.checkExpected(ny, deps, at("2026-12-07T14:30:00Z"))).toBe(true);
    expect(alerts).toEqual(["leadpipe puller ny: the 2026-12-07 file is missing"]);
    // still missing after the alert (the alert is once a day, the page says it all day)
    expect(await Pullers.missingFiles([ny], db.pool, at("2026-12-07T15:00:00Z"))).toHaveLength(1);
    // a duplicate counts as the day's file, as for the alert; a failed one does not
    await file("ny", "/out/b.csv", "failed", null, "Error: Permission denied");
    expect(await Pullers.missingFiles([ny], db.pool, at("2026-12-07T15:00:00Z"))).toHaveLength(1);
    await file("ny", "/out/c.csv", "duplicate", "2026-12-07T14:45:00Z");
    expect(await Pullers.missingFiles([ny], db.pool, at("2026-12-07T15:00:00Z"))).toEqual([]);
    expect(await Pullers.checkExpected(ny, deps, at("2026-12-08T14:30:00Z"))).toBe(true); // the 8th: none yet
    expect(await Pullers.missingFiles([ny], db.pool, at("2026-12-08T14:30:00Z"))).toHaveLength(1);
  });

  it("lastRuns gives each puller's newest run; ledger and recentRuns filter by puller and state", async () => {
    await db.pool.query(
      `INSERT INTO puller_runs (puller, trigger, started_at, finished_at, outcomes, error) VALUES
         ('ny', 'schedule', '2026-12-07T11:00:00Z', '2026-12-07T11:00:05Z', '{"landed": 1}', NULL),
         ('ny', 'cli', '2026-12-07T12:00:00Z', '2026-12-07T12:00:02Z', '{"failed": 1}', 'Error: boom'),
         ('other', 'schedule', '2026-12-06T11:00:00Z', NULL, '{}', NULL)`,
    );
    const last = await Pullers.lastRuns(db.pool);
    expect(last.map((r) => [r.puller, r.trigger, r.outcomes, r.error])).toEqual([
      ["ny", "cli", { failed: 1 }, "Error: boom"],
      ["other", "schedule", {}, null],
    ]);
    expect((await Pullers.recentRuns(db.pool, { limit: 10, puller: "ny" })).map((r) => r.trigger)).toEqual([
      "cli",
      "schedule",
    ]);
    const failed = await Pullers.ledger(db.pool, { limit: 10, state: "failed" });
    expect(failed.map((f) => [f.puller, f.path, f.reason, f.size, f.forced])).toEqual([
      ["ny", "/out/b.csv", "Error: Permission denied", 10, false],
    ]);
    expect((await Pullers.ledger(db.pool, { limit: 10, puller: "ny" })).map((f) => f.path).sort()).toEqual([
      "/out/a.csv",
      "/out/b.csv",
      "/out/c.csv",
    ]);
    expect(await Pullers.ledger(db.pool, { limit: 10, puller: "nobody" })).toEqual([]);
    await expect(Pullers.ledger(db.pool, { limit: 0 })).rejects.toThrow("a limit is a whole number from 1 to 10000");
  });
});
