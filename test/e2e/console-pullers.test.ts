import { chmodSync, chownSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { Pullers } from "@leadpipe/core";
import { serveConsole } from "../../packages/local/src/console";
import { runPuller } from "../../packages/local/src/pullers";
import { addUser } from "../../packages/console/src/auth/store";
import type { RunningConsole } from "../../packages/console/src/server";
import { startSshd, type Sshd } from "../support/peers";
import { putFile, sftpEntry, startPullerPlatform, variant, type PullerPlatform } from "../support/pullers-platform";
import { ConsoleClient } from "../support/console-client";
import { launchChromium, logIn, requireChromium } from "../support/browser";

const PASSWORD = "a long enough password";
const screenshots = path.resolve(__dirname, "../../.build/screenshots");

let sshd: Sshd;
let env: PullerPlatform;
let web: RunningConsole;
let browser: Browser;
const specs: Record<string, Pullers.PullerSpec> = {};
/** The folder a puller lists on the peer. */
const dirOf = (name: string) => (specs[name] as { dir: string }).dir;
const GOOD_FILE = "partner-b-mortgages-2026-12-20.csv";
const LOCKED_FILE = "partner-b-mortgages-2026-12-21.csv";

/** A puller on the test's OpenSSH; expected_by 00:00 UTC has always passed, so a day without a file is missing. */
function entry(name: string, extra: Record<string, unknown> = {}) {
  // the platform starts before pullers.json is written: no cron runs these, the test does
  return sftpEntry(sshd, name, { schedule: "0 6 * * *", expected_by: "00:00", ...extra });
}

beforeAll(async () => {
  requireChromium();
  mkdirSync(screenshots, { recursive: true });
  sshd = await startSshd();
  env = await startPullerPlatform("leadpipe-console-pullers-");
  const entries = [entry("good"), entry("flaky", { attempts: 1 }), entry("late")];
  writeFileSync(path.join(env.tmp, "home", "pullers.json"), JSON.stringify(entries, null, 2));
  for (const e of entries) specs[e.name] = Pullers.PullerSpec.parse(e);
  putFile(sshd, specs.good!, GOOD_FILE, variant("901"));
  // A file the SFTP user may list but not read: its landing fails with the server's reason.
  const locked = putFile(sshd, specs.flaky!, LOCKED_FILE, variant("902"));
  chownSync(locked, 0, 0);
  chmodSync(locked, 0o000);
  expect((await env.pullOnce(specs.good!)).map((r) => r.outcome)).toEqual(["landed"]);
  expect((await runPuller(specs.flaky!, env.deps, "cli")).map((r) => r.outcome)).toEqual(["failed"]);
  expect(await runPuller(specs.late!, env.deps, "cli")).toEqual([]);
  for (const [name, role] of [
    ["olga", "ops"],
    ["ana", "analyst"],
    ["mark", "marketer"],
    ["stew", "steward"],
  ] as const)
    await addUser(env.platform.pool, name, role, PASSWORD);
  web = await serveConsole(env.platform, { port: 0 });
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await env?.close();
  await sshd?.stop();
});

async function loggedIn(username: string): Promise<Page> {
  return (await logIn(browser, web.url, username, PASSWORD)).page;
}

/** A table's rows as objects keyed by its header cells. */
async function rowsOf(page: Page, id: string): Promise<Record<string, string>[]> {
  const headers = await page.locator(`#${id} thead th`).allInnerTexts();
  const rows = await page.locator(`#${id} tbody tr`).all();
  return Promise.all(
    rows.map(async (r) => {
      const cells = await r.locator("td").allInnerTexts();
      return Object.fromEntries(headers.map((h, i) => [h, cells[i]!.trim()]));
    }),
  );
}

const ledgerRow = async (puller: string, file: string) => {
  const { rows } = await env.platform.pool.query(
    `SELECT id::int, state, forced, attempts, landed_at, object_key, import_id FROM puller_files
      WHERE puller = $1 AND path LIKE '%/' || $2 ORDER BY id DESC LIMIT 1`,
    [puller, file],
  );
  return rows[0];
};

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the console's pullers: today, the ledger, force re-pull", () => {
  it("shows each puller's last run with its counts, the failed file with its reason, and the missing file", async () => {
    const page = await loggedIn("ana");
    const runs = await rowsOf(page, "puller-runs");
    expect(runs.map((r) => r.puller)).toEqual(["flaky", "good", "late"]);
    const by = Object.fromEntries(runs.map((r) => [r.puller, r]));
    expect(by.good).toMatchObject({ trigger: "cli", landed: "1", failed: "0", error: "" });
    expect(by.flaky).toMatchObject({ landed: "0", failed: "1" });
    expect(by.late).toMatchObject({ landed: "0", failed: "0", "already-landed": "0" });
    const today = new Date().toISOString().slice(0, 10);
    // good landed today; flaky's file failed and late saw none: both missing (as checkExpected decides)
    expect(await rowsOf(page, "pullers-missing")).toEqual([
      {
        puller: "flaky",
        day: today,
        expected_by: "00:00",
        timezone: "UTC",
        what: `*.csv in ${dirOf("flaky")} on 127.0.0.1`,
      },
      {
        puller: "late",
        day: today,
        expected_by: "00:00",
        timezone: "UTC",
        what: `*.csv in ${dirOf("late")} on 127.0.0.1`,
      },
    ]);
    for (const spec of [specs.flaky!, specs.late!])
      expect(await Pullers.checkExpected(spec, { ...env.deps }, new Date())).toBe(true);
    expect(await Pullers.checkExpected(specs.good!, { ...env.deps }, new Date())).toBe(false);
    const failures = await rowsOf(page, "puller-failures");
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ puller: "flaky", path: `${dirOf("flaky")}/${LOCKED_FILE}`, attempts: "1" });
    expect(failures[0]!.reason).toMatch(/denied/i);
    await page.screenshot({ path: path.join(screenshots, "today-pullers.png"), fullPage: true });
    // an analyst sees the ledger but no re-pull button
    await page.click("text=the ledger");
    await page.waitForURL(/\/pulls$/);
    expect(await page.locator("#ledger thead th", { hasText: "force" }).count()).toBe(0);
    await page.context().close();
  });

  it("lists the ledger per puller with its landed key and import, and lets ops force a re-pull, audited", async () => {
    const page = await loggedIn("olga");
    await page.goto(`${web.url}/pulls?puller=good`);
    const before = await ledgerRow("good", GOOD_FILE);
    expect(before).toMatchObject({ state: "landed", forced: false, attempts: 1 });
    const ledger = await rowsOf(page, "ledger");
    expect(ledger).toHaveLength(1);
    expect(ledger[0]).toMatchObject({
      puller: "good",
      path: `${dirOf("good")}/${GOOD_FILE}`,
      size: Buffer.byteLength(variant("901")).toLocaleString("en-US"),
      state: "landed",
      object_key: before.object_key,
      import_id: String(before.import_id).slice(0, 8),
      force: "Re-pull",
    });
    expect(before.object_key).toMatch(new RegExp(`^inbox/partner-b-mortgages/\\d{4}/\\d{2}/\\d{2}/${GOOD_FILE}$`));
    await page.screenshot({ path: path.join(screenshots, "pulls.png"), fullPage: true });
    const forcedAt = new Date();
    await page.locator("#ledger button", { hasText: "Re-pull" }).click();
    await page.waitForURL(/\/pulls\?puller=good&forced=/);
    expect(await page.locator("p.notice").textContent()).toContain(`Forced a re-pull of ${dirOf("good")}/${GOOD_FILE}`);
    // the run the console started lands it again (attempts 2, a new landed_at) and the audit log says so
    const run = await waitFor("the forced run's audit entry", async () => {
      const { rows } = await env.platform.pool.query(
        "SELECT outcome, detail FROM console_audit WHERE action = 'pull.run' AND username = 'olga'",
      );
      return rows[0];
    });
    expect(run).toEqual({
      outcome: "ok",
      detail: { outcome: "landed", key: before.object_key },
    });
    const after = await ledgerRow("good", GOOD_FILE);
    expect(after).toMatchObject({ id: before.id, forced: false, attempts: 2 });
    expect(after.landed_at.getTime()).toBeGreaterThan(forcedAt.getTime() - 1000);
    const { rows: audit } = await env.platform.pool.query(
      "SELECT username, role, action, target, outcome, detail, at FROM console_audit WHERE action = 'pull.force'",
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      username: "olga",
      role: "ops",
      action: "pull.force",
      target: `good:${dirOf("good")}/${GOOD_FILE}`,
      outcome: "ok",
      detail: { puller: "good", path: `${dirOf("good")}/${GOOD_FILE}`, run: "now" },
    });
    expect(audit[0].at.getTime()).toBeGreaterThanOrEqual(forcedAt.getTime() - 1000);
    await page.context().close();
  });

  it("refuses a force re-pull to analyst, marketer and steward (403), without a CSRF token, and for an unseen file", async () => {
    const path0 = `${dirOf("good")}/${GOOD_FILE}`;
    const before = await ledgerRow("good", GOOD_FILE);
    for (const user of ["ana", "mark", "stew"]) {
      const c = new ConsoleClient(web.url);
      expect((await c.login(user, PASSWORD)).status).toBe(303);
      const res = await c.post("/pulls/force", { _csrf: await c.csrf(), puller: "good", path: path0 });
      expect(res.status, user).toBe(403);
      expect(await res.text()).toContain("it is for ops");
    }
    const ops = new ConsoleClient(web.url);
    await ops.login("olga", PASSWORD);
    expect((await ops.post("/pulls/force", { puller: "good", path: path0 })).status).toBe(403);
    const unseen = await ops.post("/pulls/force", { _csrf: await ops.csrf(), puller: "good", path: "/nope.csv" });
    expect(unseen.status).toBe(404);
    expect(await unseen.text()).toContain("puller good has never seen /nope.csv");
    const bad = await ops.post("/pulls/force", { _csrf: await ops.csrf(), puller: "Good; DROP", path: path0 });
    expect(bad.status).toBe(400);
    expect(await ledgerRow("good", GOOD_FILE)).toEqual(before);
    const { rows } = await env.platform.pool.query(
      `SELECT username, outcome, detail->>'reason' AS reason FROM console_audit
        WHERE action IN ('POST /pulls/force', 'pull.force') AND outcome = 'refused' ORDER BY id`,
    );
    expect(rows).toEqual([
      { username: "ana", outcome: "refused", reason: "role analyst may not" },
      { username: "mark", outcome: "refused", reason: "role marketer may not" },
      { username: "stew", outcome: "refused", reason: "role steward may not" },
      { username: "olga", outcome: "refused", reason: "csrf" },
      { username: "olga", outcome: "refused", reason: "never seen by this puller" },
    ]);
  });
});
