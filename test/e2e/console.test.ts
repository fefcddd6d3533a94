import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { Audience, Import, Reports, createLogger } from "@leadpipe/core";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { LocalPlatform } from "../../packages/local/src/platform";
import { serveConsole } from "../../packages/local/src/console";
import { addUser } from "../../packages/console/src/auth/store";
import type { RunningConsole } from "../../packages/console/src/server";
import { launchChromium, logIn, requireChromium } from "../support/browser";

const sampleDay = path.resolve(__dirname, "../../fixtures/sample-day");
const screenshots = path.resolve(__dirname, "../../.build/screenshots");
const PASSWORD = "a long enough password";

let platform: LocalPlatform;
let web: RunningConsole;
let browser: Browser;
let tmp: string;

beforeAll(async () => {
  requireChromium();
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-console-e2e-"));
  mkdirSync(screenshots, { recursive: true });
  process.env.LOG_LEVEL = "silent";
  platform = await LocalPlatform.start({
    home: path.join(tmp, "home"),
    chunkRows: 100,
    retryIntervalMs: 20,
    log: () => undefined,
  });
  const files = readdirSync(sampleDay)
    .sort()
    .map((f) => path.join(sampleDay, f));
  const dropped = [];
  for (const f of files) dropped.push(await platform.drop(f));
  await platform.waitFor(dropped);
  await platform.peopleIdle();
  await Reports.refreshAll(platform.pool, { full: true });
  for (const [name, role] of [
    ["ana", "analyst"],
    ["olga", "ops"],
    ["stew", "steward"],
  ] as const)
    await addUser(platform.pool, name, role, PASSWORD);
  web = await serveConsole(platform, { port: 0 });
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await platform?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function loggedIn(username: string): Promise<{ context: BrowserContext; page: Page }> {
  return logIn(browser, web.url, username, PASSWORD, { acceptDownloads: true });
}

/** Waits until the locator's text matches (htmx swaps and polls change the page after it loads). */
async function waitText(locator: Locator, want: string | RegExp, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    last = (await locator.count()) > 0 ? await locator.first().innerText() : "";
    if (typeof want === "string" ? last.includes(want) : want.test(last)) return;
    if (Date.now() > deadline)
      throw new Error(`waited ${timeoutMs} ms for ${String(want)}; the text is: ${last.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });

describe("the operations console in a browser", () => {
  it("logs in and shows the sample day's imports on today's page", async () => {
    const { context, page } = await loggedIn("ana");
    await waitText(page.locator("header .who"), "ana (analyst)");
    const arrived = page.locator("#arrived tbody tr");
    expect(await arrived.count()).toBe(readdirSync(sampleDay).length);
    await waitText(page.locator("#arrived"), "partner-b-mortgages-2026-11-20.csv");
    await shot(page, "today");
    // a tablet
    await page.setViewportSize({ width: 768, height: 1024 });
    await shot(page, "today-tablet");
    await context.close();
  });

  it("opens an import with rejected rows and downloads its error report", async () => {
    const { context, page } = await loggedIn("ana");
    await page.goto(web.url + "/imports?status=COMPLETE_WITH_ERRORS");
    const first = page.locator("#imports tbody tr").first().locator("td").nth(1).locator("a");
    const fileName = (await first.textContent())!;
    await first.click();
    await waitText(page.locator("h1"), fileName);
    expect(await page.locator("#rejects tbody tr").count()).toBeGreaterThan(0);
    await shot(page, "import");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=errors report")]);
    const text = readFileSync((await download.path())!, "utf8");
    const [header, ...rows] = text.trimEnd().split("\n");
    expect(header).toBe("row_number,error_type,field_name,field_value,error_message");
    expect(rows.length).toBeGreaterThan(0);
    await context.close();
  });

  it("uploads a file as ops and watches its import complete", async () => {
    const { context, page } = await loggedIn("olga");
    const source = readFileSync(path.join(sampleDay, "partner-b-mortgages-2026-11-20.csv"), "utf8")
      .trimEnd()
      .split("\n");
    const name = "partner-b-mortgages-2026-11-27.csv";
    const file = path.join(tmp, name);
    writeFileSync(file, [source[0], ...source.slice(1, 6).map((l) => l.replace(/^B-1/, "B-7"))].join("\n") + "\n");
    await page.goto(web.url + "/imports?upload=1");
    await page.setInputFiles("input[type=file][name=file]", file);
    await page.click("button:text('Upload')");
    await page.waitForURL(/\/imports\?q=/);
    const row = page.locator("#imports tbody tr", { hasText: name });
    await waitText(row, /COMPLETE/, 60_000);
    await shot(page, "upload-complete");
    const { rows } = await platform.pool.query(
      "SELECT status, rows_read, uploaded_by FROM imports WHERE file_name = $1",
      [name],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "COMPLETE", uploaded_by: "console:olga" });
    expect(rows[0].rows_read).toBeGreaterThan(0);
    await context.close();
  });

  it("opens a report with its chart and data-as-of, and exports it as CSV", async () => {
    const { context, page } = await loggedIn("ana");
    await page.goto(web.url + "/reports");
    await shot(page, "reports");
    // the report with the most rows after the sample day (its chart has bars)
    const counts = await Promise.all(
      Reports.reports.map(async (r) =>
        Number((await platform.pool.query(`SELECT count(*) AS n FROM ${r.relation}`)).rows[0].n),
      ),
    );
    const report = Reports.reports[counts.indexOf(Math.max(...counts))]!;
    expect(Math.max(...counts)).toBeGreaterThan(0);
    await page.click(`a[href="/reports/${report.name}"]`);
    expect(await page.locator("#data-as-of").innerText()).toMatch(/^\d{4}-\d{2}-\d{2} /);
    expect(await page.locator("figure.chart svg rect").count()).toBeGreaterThan(0);
    expect(await page.locator("#report tbody tr").count()).toBe(Math.min(500, Math.max(...counts)));
    await shot(page, "report");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Export CSV")]);
    const header = readFileSync((await download.path())!, "utf8").split("\n")[0];
    expect(header).toBe(report.columns.map((c) => c.name).join(","));
    await context.close();
  });

  it("runs a query, and sees a write refused", async () => {
    const { context, page } = await loggedIn("ana");
    await page.goto(web.url + "/sql");
    await page.fill(
      "textarea[name=sql]",
      "SELECT file_name, status FROM imports WHERE file_name LIKE 'partner-b-mortgages-2026-11-20%'",
    );
    await page.click("button:text('Run')");
    await waitText(page.locator("#sql-rows"), "partner-b-mortgages-2026-11-20.csv");
    await waitText(page.locator("#sql-result"), "1 row(s)");
    await shot(page, "sql");
    await page.fill("textarea[name=sql]", "UPDATE imports SET status = 'FAILED'");
    await page.click("button:text('Run')");
    await waitText(page.locator("#sql-error"), "refused");
    const { rows } = await platform.pool.query("SELECT count(*)::int AS n FROM imports WHERE status = 'FAILED'");
    expect(rows[0].n).toBe(0);
    await context.close();
  });

  it("follows a lead's timeline from the mortgage to the call", async () => {
    const {
      rows: [m],
    } = await platform.pool.query<{ mortgage_id: string }>(
      `SELECT c.mortgage_id FROM call_responses c JOIN mail_pieces p ON p.mortgage_id = c.mortgage_id
        WHERE c.mortgage_id IS NOT NULL ORDER BY 1 LIMIT 1`,
    );
    expect(m, "the sample day has a call matched to a mailed mortgage").toBeDefined();
    const { context, page } = await loggedIn("ana");
    await page.goto(web.url + "/leads");
    await page.fill("input[name=q]", m!.mortgage_id);
    await page.click("button:text('Find')");
    const table = page.locator("main table").first();
    for (const kind of ["mortgage", "mail piece", "call"]) await waitText(table, kind);
    await waitText(table, /mortgages-2026-11-20/);
    await shot(page, "lead-timeline");
    await context.close();
  });

  it("lets a steward unmerge, and refuses an analyst", async () => {
    const { rows: persons } = await platform.pool.query<{ person_id: string }>(
      "SELECT person_id FROM persons ORDER BY person_id LIMIT 2",
    );
    expect(persons.length).toBe(2);
    const [a, b] = persons.map((p) => Number(p.person_id));
    const steward = await loggedIn("stew");
    await steward.page.goto(web.url + "/people");
    await steward.page.fill("input[name=survivor]", String(a));
    await steward.page.fill("input[name=absorbed]", String(b));
    await steward.page.click("button:text('Merge')");
    await steward.page.waitForURL(`${web.url}/people/${a}`);
    const {
      rows: [merge],
    } = await platform.pool.query<{ merge_id: string }>(
      "SELECT merge_id FROM person_merges WHERE survivor_id = $1 AND absorbed_id = $2 AND unmerged_at IS NULL",
      [a, b],
    );
    expect(merge).toBeDefined();

    // the analyst sees the record but no unmerge button, and a forged POST is refused
    const analyst = await loggedIn("ana");
    await analyst.page.goto(`${web.url}/people/${a}`);
    await waitText(analyst.page.locator("main"), `Person ${a}`);
    expect(await analyst.page.locator("button:text('Unmerge')").count()).toBe(0);
    const csrf = await analyst.page.locator("input[name=_csrf]").first().getAttribute("value");
    const refused = await analyst.page.request.post(`${web.url}/people/unmerge`, {
      form: { _csrf: csrf!, merge_id: merge!.merge_id },
    });
    expect(refused.status()).toBe(403);
    expect(
      (await platform.pool.query("SELECT unmerged_at FROM person_merges WHERE merge_id = $1", [merge!.merge_id]))
        .rows[0].unmerged_at,
    ).toBeNull();

    await steward.page.goto(`${web.url}/people/${a}`);
    await shot(steward.page, "person");
    await steward.page.click("button:text('Unmerge')");
    await steward.page.waitForLoadState();
    const {
      rows: [after],
    } = await platform.pool.query("SELECT unmerged_at, unmerged_by FROM person_merges WHERE merge_id = $1", [
      merge!.merge_id,
    ]);
    expect(after.unmerged_by).toBe("stew");
    expect((await platform.pool.query("SELECT 1 FROM persons WHERE person_id = $1", [b])).rowCount).toBe(1);

    await steward.page.goto(`${web.url}/audit?action=people.`);
    await waitText(steward.page.locator("#audit"), "people.unmerge");
    await shot(steward.page, "audit");
    await steward.page.goto(`${web.url}/compliance`);
    await shot(steward.page, "compliance");
    await steward.context.close();
    await analyst.context.close();
  });
});

describe("the compliance risk, re-evaluated per check", () => {
  it("shows for the last publication who each skipped check would let through, as the core counts it", async () => {
    const published = await Audience.publishAudience(
      {
        pool: platform.pool,
        store: s3Store(platform.s3),
        settings: { bucket: platform.bucket },
        log: createLogger({}, () => undefined),
      },
      { campaign: "recent-bookers", channel: "email", asOf: "2026-11-20" },
    );
    const expected = await Audience.riskIfSkipped(platform.pool, {
      campaign: "recent-bookers",
      channel: "email",
      asOf: "2026-11-20",
      steps: published.waterfall.map((s) => s.step),
    });
    expect(expected.map((r) => r.step)).toEqual(["consent", "not_opted_out", "not_suppressed"]);
    const { context, page } = await loggedIn("ana");
    await page.goto(`${web.url}/compliance`);
    await page.click("a:text('Re-evaluate each check')");
    await waitText(page.locator("h1"), "Risk: recent-bookers / email");
    const rows = await page
      .locator("#risk tbody tr")
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent!.trim())));
    expect(rows).toEqual(
      expected.map((r) => [
        r.step,
        String(published.waterfall.find((s) => s.step === r.step)!.excluded),
        String(r.contacted_if_skipped),
      ]),
    );
    await shot(page, "compliance-risk");
    await context.close();
  });
});

describe("the CLI against a stage's console (status, replay and sql --stage, with a login token)", () => {
  const cli = path.resolve(__dirname, "../../packages/local/bin/leadpipe.js");
  /** The CLI binary, run asynchronously: the console answering it runs in this very process. */
  const leadpipe = (args: string[], input?: string) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      // The CLI's own home: it needs no platform of its own, only the stage's login.
      const child = spawn(process.execPath, ["--single-threaded-gc", cli, ...args], {
        env: { ...process.env, LEADPIPE_HOME: path.join(tmp, "cli-home"), LOG_LEVEL: "silent" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
      child.stdin.end(input ?? "");
    });

  it("logs in (token kept 0600), then status, sql and the alert's replay command work through the console", async () => {
    const login = await leadpipe(
      ["login", "--stage", "sample", "--url", web.url, "--username", "olga", "--password-stdin"],
      PASSWORD,
    );
    expect(login.stderr).toBe("");
    expect(login.stdout).toMatch(/logged in to sample .* as olga \(ops\)/);
    const tokenFile = path.join(tmp, "cli-home", "stages", "sample.json");
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(tokenFile, "utf8"))).toMatchObject({ url: web.url, username: "olga" });

    const status = await leadpipe(["status", "--stage", "sample", "--json", "--limit", "3"]);
    expect(status.status, status.stderr).toBe(0);
    const recent = status.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const newest = await platform.pool.query("SELECT id FROM imports ORDER BY seq DESC LIMIT 3");
    expect(recent.map((r) => r.id)).toEqual(newest.rows.map((r) => r.id));

    const sql = await leadpipe(["sql", "--stage", "sample", "--json", "SELECT count(*)::int AS n FROM imports"]);
    expect(sql.status, sql.stderr).toBe(0);
    const n = (await platform.pool.query("SELECT count(*)::int AS n FROM imports")).rows[0].n;
    expect(JSON.parse(sql.stdout)).toEqual({ n });
    const write = await leadpipe(["sql", "--stage", "sample", "DELETE FROM imports"]);
    expect(write.status).toBe(2);
    expect(write.stderr).toMatch(/refused: leadpipe sql runs one query/);
    // Past the CLI's keyword check, the console's read-only role refuses it.
    const sneaky = await leadpipe([
      "sql",
      "--stage",
      "sample",
      "WITH d AS (DELETE FROM imports RETURNING 1) SELECT * FROM d",
    ]);
    expect(sneaky.status).toBe(2);
    expect(sneaky.stderr).toMatch(/400 .*read-only/);
    expect((await platform.pool.query("SELECT count(*)::int AS n FROM imports")).rows[0].n).toBe(n);

    // The command an alert from stage "sample" prints, run as printed (after `npx leadpipe`).
    const {
      rows: [withRejects],
    } = await platform.pool.query(
      "SELECT id FROM imports WHERE rejected > 0 AND replay_of IS NULL AND status = 'COMPLETE_WITH_ERRORS' LIMIT 1",
    );
    const command = Import.replayCommand(withRejects.id, "full", "sample");
    expect(command).toBe(`npx leadpipe replay ${withRejects.id} --mode full --stage sample`);
    const replay = await leadpipe(command.replace(/^npx leadpipe /, "").split(" "));
    expect(replay.status, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/^status\s+COMPLETE/m);
    const {
      rows: [replayed],
    } = await platform.pool.query("SELECT uploaded_by, status FROM imports WHERE replay_of = $1 ORDER BY seq DESC", [
      withRejects.id,
    ]);
    expect(replayed.status).toMatch(/^COMPLETE/);
    const audit = await platform.pool.query(
      "SELECT outcome FROM console_audit WHERE username = 'olga' AND action = 'replay full' AND target = $1",
      [withRejects.id],
    );
    expect(audit.rows).toEqual([{ outcome: "ok" }]);
  }, 600_000);

  it("replays the rejected rows with a corrected file over --stage, and streams a query's rows", async () => {
    const login = await leadpipe(
      ["login", "--stage", "sample", "--url", web.url, "--username", "olga", "--password-stdin"],
      PASSWORD,
    );
    expect(login.status, login.stderr).toBe(0);
    const {
      rows: [original],
    } = await platform.pool.query<{ id: string }>(
      `SELECT id FROM imports WHERE file_name = 'partner-b-mortgages-2026-11-20.csv' AND replay_of IS NULL
          AND status <> 'DUPLICATE'`,
    );
    // the corrected rows 8-11 of the sample day's partner B file (the rows its import rejected)
    const fixed = path.resolve(__dirname, "../../fixtures/replays/partner-b-mortgages-2026-11-20-fixed.csv");
    const replay = await leadpipe([
      "replay",
      original!.id,
      "--mode",
      "errors-only",
      "--file",
      fixed,
      "--stage",
      "sample",
      "--json",
    ]);
    expect(replay.status, replay.stderr).toBe(0);
    const out = JSON.parse(replay.stdout);
    expect(out).toMatchObject({ original: original!.id, mode: "errors-only", rows: 4 });
    expect(out.replay.import).toMatchObject({ status: "COMPLETE", replay_of: original!.id, accepted: 4, rejected: 0 });
    const audit = await platform.pool.query(
      "SELECT outcome, detail->>'file' AS file FROM console_audit WHERE username = 'olga' AND action = 'replay errors-only' AND target = $1",
      [original!.id],
    );
    expect(audit.rows).toEqual([{ outcome: "ok", file: "partner-b-mortgages-2026-11-20-fixed.csv" }]);
    // --file needs a file that exists, and goes with errors-only
    const missing = await leadpipe([
      "replay",
      original!.id,
      "--mode",
      "errors-only",
      "--file",
      "/nonexistent.csv",
      "--stage",
      "sample",
    ]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);

    // 12,000 rows streamed as NDJSON, past the 10,000 the API answered at most in one JSON; the cap said on stderr
    const many = await leadpipe([
      "sql",
      "--stage",
      "sample",
      "--json",
      "--limit",
      "12000",
      "SELECT g FROM generate_series(1, 12001) g",
    ]);
    expect(many.status, many.stderr).toBe(0);
    const rows = many.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows.length).toBe(12_000);
    expect(rows.at(-1)).toEqual({ g: 12_000 });
    expect(many.stderr).toMatch(/more rows exist past --limit/);
    // the table output, streamed in and printed whole
    const table = await leadpipe(["sql", "--stage", "sample", "SELECT 7 AS seven"]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/seven[\s\S]*7/);
  }, 600_000);

  it("refuses a replay to an analyst's token, and any call once the token is forged or gone", async () => {
    const login = await leadpipe(
      ["login", "--stage", "as-ana", "--url", web.url, "--username", "ana", "--password-stdin"],
      PASSWORD,
    );
    expect(login.status, login.stderr).toBe(0);
    const id = (await platform.pool.query("SELECT id FROM imports ORDER BY seq LIMIT 1")).rows[0].id;
    const refused = await leadpipe(["replay", id, "--mode", "full", "--stage", "as-ana"]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/403/);
    const file = path.join(tmp, "cli-home", "stages", "as-ana.json");
    const saved = JSON.parse(readFileSync(file, "utf8"));
    writeFileSync(file, JSON.stringify({ ...saved, token: `${saved.token.slice(0, -4)}AAAA` }));
    const gone = await leadpipe(["status", "--stage", "as-ana"]);
    expect(gone.status).toBe(2);
    expect(gone.stderr).toMatch(/no longer valid: npx leadpipe login --stage as-ana/);
  }, 300_000);
});
