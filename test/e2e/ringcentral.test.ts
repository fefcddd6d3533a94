/**
 * `leadpipe sync ringcentral` end to end: a local RingCentral (test/support/fake-ringcentral.ts)
 * and the local platform (embedded PostgreSQL, s3rver, the ingest pipeline). Calls read from
 * RingCentral land as imports of the source ringcentral-calls and must be there exactly once,
 * whatever the run: full, incremental, a refused token, a late update, a record updated twice
 * within one second, a deleted record, a crash mid-sync, a dry run. Time is the test's clock:
 * the budget's waits advance it instead of sleeping.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Integrations, createLogger } from "@leadpipe/core";
import { s3Store } from "../../packages/core/src/adapters/s3";
import { fileCredentials } from "../../packages/local/src/credentials";
import { LocalPlatform } from "../../packages/local/src/platform";
import { type FakeCall, type FakeRingCentral, fakeCall, startFakeRingCentral } from "../support/fake-ringcentral";

const sampleDay = path.resolve(__dirname, "../../fixtures/sample-day");
const CLI = path.resolve("packages/local/bin/leadpipe.js");
const MIN = 60_000;

let platform: LocalPlatform;
let rc: FakeRingCentral;
let tmp: string;
let home: string;
const clock = { t: Date.now() };
const sleeps: number[] = [];
const now = () => clock.t;
const sleep = async (ms: number) => {
  sleeps.push(ms);
  clock.t += ms;
};
const log = createLogger({ service: "test" }, () => undefined);
const connections = (): Integrations.Integrations => ({
  ringcentral: { server_url: rc.url, client_id: "test-client", client_secret: "test-secret", jwt: "eyJ.test.jwt" },
});

/** One run of the sync as the CLI runs it, on the test's clock. */
async function sync(o: { full?: boolean; dryRun?: boolean } & Integrations.RingCentral.RingCentralSyncOptions = {}) {
  const { full = false, dryRun = false, ...opts } = o;
  return Integrations.runSync(
    {
      pool: platform.pool,
      log,
      objects: { store: s3Store(platform.s3), bucket: platform.bucket },
      credentials: fileCredentials(home),
    },
    "ringcentral",
    Integrations.RingCentral.ringcentralSync({ sleep, now, pollMs: 50, importTimeoutMs: 120_000, ...opts }),
    connections(),
    { trigger: "cli", full, dryRun },
  );
}

async function q<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await platform.pool.query(sql, params)).rows as T[];
}

/** What RingCentral holds, live records only, against what leadpipe holds. */
async function expectInStep() {
  const live = [...rc.records.values()].filter((r) => !r.deleted);
  const stored = await q<{ record_id: string; result: string; last_modified: Date }>(
    "SELECT record_id, result, last_modified FROM ringcentral_calls WHERE NOT deleted ORDER BY record_id",
  );
  expect(stored.map((r) => [r.record_id, r.result, r.last_modified.toISOString()])).toEqual(
    live.sort((a, b) => a.id.localeCompare(b.id)).map((r) => [r.id, r.result, r.lastModifiedTime]),
  );
  const responses = await q<{ ringcentral_id: string; n: number }>(
    "SELECT ringcentral_id, count(*)::int AS n FROM call_responses WHERE ringcentral_id IS NOT NULL GROUP BY 1 ORDER BY 1",
  );
  expect(responses.map((r) => r.ringcentral_id)).toEqual(
    live
      .filter((r) => r.direction === "Inbound")
      .map((r) => r.id)
      .sort(),
  );
  expect(responses.every((r) => r.n === 1)).toBe(true);
}

const importsOfCalls = async () =>
  (await q<{ n: number }>("SELECT count(*)::int AS n FROM imports WHERE source = 'ringcentral-calls'"))[0]!.n;

let n = 0;
/** New calls started `agoMs` before the test's now. */
function calls(count: number, over: Partial<FakeCall> = {}, agoMs = 2 * 3_600_000): FakeCall[] {
  return Array.from({ length: count }, () => {
    n++;
    return fakeCall(n, now() - agoMs + n * 1000, over);
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-ringcentral-"));
  home = path.join(tmp, "home");
  process.env.LOG_LEVEL = "silent";
  platform = await LocalPlatform.start({ home, chunkRows: 10, retryIntervalMs: 20, log: () => undefined });
  rc = await startFakeRingCentral({ now });
  // the mail side the calls are matched to, and one IVR response by the same caller
  const landed = [];
  for (const f of ["partner-b-mortgages-2026-11-20.csv", "partner-b-barcodes-2026-11-20.csv"])
    landed.push(await platform.drop(path.join(sampleDay, f)));
  const ivr = path.join(tmp, "call-center-responses-ringcentral.csv");
  writeFileSync(
    ivr,
    "Caller Phone,Call Start,Disposition,Loan Number Entered,Tracking Number Entered\n" +
      "(512) 555-0142,11/21/2026 10:00,interested,B-100001,\n",
  );
  landed.push(await platform.drop(ivr));
  const rows = await platform.waitFor(landed);
  // the sample day's files carry deliberate bad rows
  expect(rows.map((r) => r.status)).toEqual(["COMPLETE_WITH_ERRORS", "COMPLETE_WITH_ERRORS", "COMPLETE"]);
}, 240_000);

afterAll(async () => {
  await rc?.close();
  await platform?.close();
  if (platform?.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
});

describe("leadpipe sync ringcentral", () => {
  it("a full sync lands every call once, matched like the IVR's, and sets the sync token", async () => {
    rc.add(calls(24));
    rc.add(calls(1, { from: { phoneNumber: "+15125550142" } }));
    rc.add(
      calls(3, { direction: "Outbound", from: { phoneNumber: "+18005550100" }, to: { phoneNumber: "+15125550142" } }),
    );
    const r = await sync({ perPage: 10 });
    // FSync returns the 28 newest, the call log the same 28 again (3 pages): each lands once
    expect(r).toMatchObject({ read: 56, created: 28, updated: 0, unchanged: 28, deleted: 0, failed: 0 });
    expect(r.requests).toBe(1 + 1 + 3); // the token, FSync, three pages
    await expectInStep();
    expect(await Integrations.readCursor(platform.pool, "ringcentral", "sync_token")).toMatch(/.+/);

    const [ivr] = await q(
      "SELECT tracking_code, mortgage_id, partner, match_method FROM call_responses WHERE disposition = 'interested' AND caller_phone = '+15125550142'",
    );
    const [call] = await q(
      `SELECT tracking_code, mortgage_id, partner, match_method FROM call_responses
        WHERE ringcentral_id IS NOT NULL AND caller_phone = '+15125550142'`,
    );
    expect(ivr).toMatchObject({ mortgage_id: "B-100001", partner: "B", match_method: "mortgage_id" });
    expect(ivr!.tracking_code).toMatch(/^\d{20}$/);
    expect(call).toEqual(ivr);
    const touch = await q("SELECT customer_id, channel FROM touchpoints WHERE campaign = 'ringcentral'");
    expect(touch).toEqual([{ customer_id: "+15125550142", channel: "call" }]);
  }, 120_000);

  it("an incremental run lands the new, updated and deleted records; a run with nothing new lands nothing", async () => {
    const [first, second] = [...rc.records.keys()];
    const at = Math.floor(now() / 1000) * 1000 + 5000;
    rc.add(calls(3));
    rc.update(first!, { result: "Voicemail" }, { atMs: at + 100 });
    rc.remove(second!);
    const r = await sync();
    expect(r).toMatchObject({ created: 3, updated: 1, deleted: 1, failed: 0 });
    expect(r.read).toBe(r.created + r.updated + r.deleted + r.unchanged);
    await expectInStep();

    // updated again within the same second: the later version replaces the earlier one
    rc.update(first!, { result: "Missed", duration: 4 }, { atMs: at + 400 });
    const again = await sync();
    expect(again).toMatchObject({ created: 0, updated: 1, deleted: 0 });
    await expectInStep();
    expect((await q("SELECT result, duration_s FROM ringcentral_calls WHERE record_id = $1", [first]))[0]).toEqual({
      result: "Missed",
      duration_s: 4,
    });

    const before = await importsOfCalls();
    const idle = await sync();
    expect(idle).toMatchObject({ created: 0, updated: 0, deleted: 0, failed: 0 });
    expect(await importsOfCalls()).toBe(before);
  }, 120_000);

  it("re-reads the late-update window by last-modified time: a change without a sync entry is caught", async () => {
    const [id, old] = [...rc.records.entries()].find(([, c]) => !c.deleted)!;
    // changed in RingCentral without a change the incremental sync reports
    const later = new Date(Math.max(now(), Date.parse(old.lastModifiedTime) + 1000)).toISOString();
    rc.records.set(id, { ...old, result: "Call connected", lastModifiedTime: later });
    const r = await sync();
    expect(r).toMatchObject({ created: 0, updated: 1, deleted: 0 });
    await expectInStep();
  }, 120_000);

  it("falls back to a full sync over an overlapping window when the token is refused, without duplicates", async () => {
    const lastTime = await Integrations.readCursor(platform.pool, "ringcentral", "sync_time");
    rc.invalidateSyncTokens();
    rc.add(calls(2));
    const from = rc.log.length;
    const r = await sync();
    expect(r).toMatchObject({ created: 2, updated: 0, deleted: 0, failed: 0 });
    const requests = rc.log.slice(from);
    expect(requests[0]).toMatchObject({ status: 400, query: { syncType: "ISync" } });
    expect(requests[1]).toMatchObject({ status: 200, query: { syncType: "FSync" } });
    expect(Date.parse(requests[1]!.query.dateFrom!)).toBe(Date.parse(lastTime!) - 24 * 3_600_000);
    await expectInStep();
  }, 120_000);

  it("honours Retry-After, refreshes an expired access token and stores it back, retries a 5xx", async () => {
    rc.add(calls(1));
    rc.expireAccessTokens();
    rc.fail("429", { retryAfter: 30 });
    rc.fail("500");
    const issued = rc.tokensIssued.length;
    sleeps.length = 0;
    const r = await sync();
    expect(r).toMatchObject({ created: 1, failed: 0 });
    expect(sleeps).toContain(30_000);
    expect(rc.tokensIssued.slice(issued).map((t) => t.grant)).toEqual(["refresh_token"]);
    const file = path.join(home, "credentials", "ringcentral.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await fileCredentials(home).load("ringcentral")).toMatchObject({
      access_token: `access-${rc.tokensIssued.length}`,
    });
    await expectInStep();
  }, 120_000);

  it("spends at most 10 Heavy requests in any 60 s", async () => {
    rc.resetRateWindows();
    const from = rc.log.length;
    const start = now();
    const r = await sync({ full: true, perPage: 3 });
    const sent = rc.log.slice(from);
    expect(sent.length).toBeGreaterThan(10);
    expect(sent.every((s) => s.status === 200)).toBe(true);
    for (const s of sent) expect(sent.filter((o) => o.at >= s.at && o.at < s.at + MIN).length).toBeLessThanOrEqual(10);
    expect(now() - start).toBeGreaterThanOrEqual(MIN);
    expect(r).toMatchObject({ created: 0, updated: 0, deleted: 0 });
    await expectInStep();
  }, 120_000);

  it("a crash mid-sync resumes the full sync where it stopped, without double rows", async () => {
    rc.resetRateWindows();
    rc.add(calls(12));
    const imports = await importsOfCalls();
    rc.fail("500", { times: 4, after: 3 }); // FSync, pages 1 and 2, then page 3 fails past the client's 3 retries
    await expect(sync({ full: true, perPage: 4, recordsPerFile: 4 })).rejects.toThrow(/HTTP 500/);
    expect(await importsOfCalls()).toBeGreaterThan(imports); // some of it landed before the crash
    const progress = JSON.parse((await Integrations.readCursor(platform.pool, "ringcentral", "full_sync_progress"))!);
    expect(progress.page).toBe(2);
    rc.resetRateWindows();
    const from = rc.log.length;
    const r = await sync({ perPage: 4, recordsPerFile: 4 });
    expect(r.failed).toBe(0);
    // resumed at the last stored page (one page of overlap), no new FSync
    expect(rc.log.slice(from).map((x) => x.query.syncType ?? `page ${x.query.page}`)[0]).toBe("page 2");
    expect(rc.log.slice(from).some((x) => x.query.syncType === "FSync")).toBe(false);
    expect(await Integrations.readCursor(platform.pool, "ringcentral", "full_sync_progress")).toBeUndefined();
    await expectInStep();
    const runs = await q<{ status: string }>(
      "SELECT status FROM integration_sync_runs WHERE system = 'ringcentral' ORDER BY started_at DESC LIMIT 2",
    );
    expect(runs.map((x) => x.status)).toEqual(["succeeded", "failed"]);
  }, 180_000);

  it("--dry-run lands nothing and moves no cursor", async () => {
    rc.resetRateWindows();
    rc.add(calls(2));
    const imports = await importsOfCalls();
    const token = await Integrations.readCursor(platform.pool, "ringcentral", "sync_token");
    const r = await sync({ dryRun: true });
    expect(r).toMatchObject({ created: 2, updated: 0, deleted: 0 });
    expect(await importsOfCalls()).toBe(imports);
    expect(await Integrations.readCursor(platform.pool, "ringcentral", "sync_token")).toBe(token);
    const missing = await q("SELECT 1 FROM ringcentral_calls WHERE record_id = ANY($1)", [
      [...rc.records.keys()].slice(-2),
    ]);
    expect(missing).toEqual([]);
  }, 120_000);

  it("the CLI: leadpipe sync ringcentral --json ends with exactly the run's counts", async () => {
    rc.resetRateWindows();
    writeFileSync(path.join(home, "integrations.json"), JSON.stringify(connections()));
    const run = await promisify(execFile)(process.execPath, [CLI, "sync", "ringcentral", "--json"], {
      env: { ...process.env, LEADPIPE_HOME: home, DATABASE_URL: "" },
      encoding: "utf8",
      timeout: 120_000,
    });
    const last = JSON.parse(run.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
    expect(Object.keys(last).sort()).toEqual(
      ["system", "run_id", "read", "created", "updated", "unchanged", "deleted", "failed", "requests"].sort(),
    );
    expect(last).toMatchObject({ system: "ringcentral", created: 2, updated: 0, deleted: 0, failed: 0 });
    expect(last.requests).toBeGreaterThanOrEqual(2);
    await expectInStep();
  }, 180_000);
});
