/**
 * Pipedrive's daily token budget (issue 23) against the fake Pipedrive on a virtual clock and a real
 * PostgreSQL: a run stops cleanly before it would pass our share of the day, ends partial, and the
 * next day's run resumes with nothing lost or sent twice; the reserve left to the account's other
 * users; another user's spending met by Pipedrive's 429; x-daily-requests-left at 0 stops the writes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger, createPool, Integrations, migrate, type Pool } from "../../packages/core/src/index";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { type FakePipedrive, type FakePipedriveOptions, startFakePipedrive } from "../support/fake-pipedrive";
import { declareFields, seedLeads } from "../support/pipedrive-seed";
import { VirtualClock } from "../support/virtual-clock";
import { lastSyncRuns } from "../../packages/console/src/data/integrations";

let pg: RunningPostgres;
let pool: Pool;
let tmp: string;
let fake: FakePipedrive | undefined;
const log = createLogger({ service: "test" }, () => undefined);
const DAY = 86_400_000;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-pipedrive-budget-"));
  pg = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pg.url, 4);
  await migrate(pool);
}, 120_000);
afterEach(async () => {
  await fake?.close();
  fake = undefined;
  await pool.query(
    `TRUNCATE pipedrive_snapshots, pipedrive_retry_ledger, person_crm_fields, integration_cursors,
              integration_sync_runs, integration_token_spend, leads, call_responses, mail_pieces, person_phones,
              persons CASCADE`,
  );
});
afterAll(async () => {
  await pool?.end();
  await pg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function account(clock: VirtualClock, o: FakePipedriveOptions, extra: Partial<Integrations.PipedriveConnection>) {
  fake = await startFakePipedrive({ clock, ...o });
  const connections: Integrations.Integrations = {
    pipedrive: { api_url: fake.url, api_token: fake.token, owner_field_map: declareFields(fake), ...extra },
  };
  const sync = () =>
    Integrations.runSync({ pool, log }, "pipedrive", Integrations.Pipedrive.pipedriveSync({ clock }), connections, {
      trigger: "schedule",
      full: false,
      dryRun: false,
    });
  return { fake, sync };
}

const lastRun = async () =>
  (
    await pool.query(
      "SELECT status, stop_reason, error, requests FROM integration_sync_runs ORDER BY started_at DESC LIMIT 1",
    )
  ).rows[0];
const spent = async () =>
  (await pool.query("SELECT budget_day::text AS day, tokens::int FROM integration_token_spend ORDER BY budget_day"))
    .rows;
const markers = (f: FakePipedrive, entity: "persons" | "deals") => {
  const key = f[entity === "persons" ? "personFields" : "dealFields"].find((x) => x.name === "leadpipe id")!.key;
  return [...f[entity].values()].map((r) => r.custom_fields[key]);
};

describe("pipedrive daily token budget", () => {
  it("stops before our share of the day is spent, ends partial, and the next day resumes without doubles", async () => {
    const clock = new VirtualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
    // 400 tokens a day, 25% left to the account's others: ours is 300
    const { fake: f, sync } = await account(clock, { dailyTokens: 400 }, { daily_token_budget: 400 });
    await seedLeads(pool, 1, 20);

    const r1 = await sync();
    expect(await lastRun()).toMatchObject({ status: "partial", error: null });
    expect((await lastRun()).stop_reason).toMatch(
      /day's token budget would be exceeded \(\d+ of our 300 spent.*resumes after 2026-12-08T00:00:00.000Z/,
    );
    // checkFields 2 × 20, two empty reads 2 × 20, then 10 per write until 300: 22 writes, 11 persons and deals
    expect(f.tokensToday()).toBe(300);
    expect(f.stats.overBudget).toBe(0); // stopped by itself: Pipedrive never had to refuse
    expect(r1).toMatchObject({ created: 22, failed: 0 });
    expect(f.persons.size).toBe(11);
    expect(f.deals.size).toBe(11);
    expect(await spent()).toEqual([{ day: "2026-12-07", tokens: 300 }]);
    // the console's Today page lists it as partial, with why and when it goes on
    expect((await lastSyncRuns(pool))[0]).toMatchObject({
      system: "pipedrive",
      status: "partial",
      stop_reason: expect.stringMatching(/token budget would be exceeded.*resumes after 2026-12-08T00:00:00/),
    });

    // a second run the same day starts from what the first spent: nothing fits, nothing is sent
    const sent = f.stats.requests;
    const r2 = await sync();
    expect(r2).toMatchObject({ requests: 0, created: 0 });
    expect(f.stats.requests).toBe(sent);
    expect((await lastRun()).status).toBe("partial");

    // the next budget day: the rest goes, every golden record once
    clock.set(Date.UTC(2026, 11, 8, 0, 5, 0));
    const r3 = await sync();
    expect(await lastRun()).toMatchObject({ status: "succeeded", stop_reason: null });
    expect(r3.created).toBe(18);
    expect(f.persons.size).toBe(20);
    expect(f.deals.size).toBe(20);
    expect(new Set(markers(f, "persons")).size).toBe(20);
    expect(new Set(markers(f, "deals")).size).toBe(20);
    const snaps = await pool.query(
      "SELECT count(*)::int AS n FROM pipedrive_snapshots WHERE remote_id IS NOT NULL AND deleted_at IS NULL",
    );
    expect(snaps.rows[0].n).toBe(40);
    expect((await spent()).map((x) => x.day)).toEqual(["2026-12-07", "2026-12-08"]);
    // the partial runs are in the audit log as such
    const audit = await pool.query(
      "SELECT outcome, detail->>'partial' AS partial FROM console_audit WHERE username = 'sync:pipedrive' ORDER BY id",
    );
    expect(audit.rows.map((x) => [x.outcome, x.partial !== null])).toEqual([
      ["ok", true],
      ["ok", true],
      ["ok", false],
    ]);
  });

  it("plan × seats with a reserve, and another user's spending met by Pipedrive's 429: partial, not failed", async () => {
    const clock = new VirtualClock(Date.UTC(2026, 11, 7, 22, 0, 0));
    // the company's budget as Pipedrive computes it: Lite, 1 seat = 30,000; our share with 90% reserved: 3,000
    const { fake: f, sync } = await account(
      clock,
      { dailyTokens: 30_000 },
      { plan: "lite", seats: 1, token_reserve_percent: 90 },
    );
    await seedLeads(pool, 1, 5);
    // the account's other integrations have spent nearly all of today's budget: Pipedrive refuses us
    for (let i = 0; i < 29_990 / 10; i++) f.spendTokens(10);
    const r = await sync();
    expect(r.created).toBe(0);
    expect(f.stats.overBudget).toBe(1); // the first 429 ends the run: no retry loop against a spent day
    expect(await lastRun()).toMatchObject({ status: "partial", error: null });
    expect((await lastRun()).stop_reason).toMatch(/asks to wait 7200 s/);
    expect(f.persons.size).toBe(0);
    clock.set(Date.UTC(2026, 11, 8, 0, 0, 1));
    expect(await sync()).toMatchObject({ created: 10, failed: 0 });
    expect(f.persons.size).toBe(5);
  });

  it("stops writing when x-daily-requests-left says no writes are left today", async () => {
    const clock = new VirtualClock();
    const { fake: f, sync } = await account(clock, { dailyWrites: 5 }, {});
    await seedLeads(pool, 1, 4);
    const r = await sync();
    expect(r.created).toBe(5);
    expect(await lastRun()).toMatchObject({ status: "partial" });
    expect((await lastRun()).stop_reason).toMatch(/no more writes today/);
    expect(f.stats.posts).toBe(5); // the sixth write was never sent
    clock.set(clock.now() + DAY);
    expect(await sync()).toMatchObject({ created: 3 });
    expect(f.persons.size).toBe(4);
    expect(f.deals.size).toBe(4);
  });
});
