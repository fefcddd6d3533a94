/**
 * Pipedrive sync of --persons golden records with interested leads (the figure is 100k) to
 * the fake Pipedrive, within its published limits, on a virtual clock: the fake enforces the burst
 * limit of --plan (rolling 2 s) and the company's daily token budget (30,000 × plan multiplier ×
 * --seats), the sync paces itself and stops at our share of the day (less --reserve percent), and
 * instead of sleeping, time advances: a burst wait moves the clock by its length, a day's budget
 * spent moves it to the next midnight, and the next scheduled run resumes. Every request goes
 * through the real client, sync and database; only the waiting is skipped.
 *
 * Prints the first load (runs until done), a run with nothing changed, and a full reconciliation:
 * requests, tokens, requests per person, the time the limits imply (virtual), the CPU and wall time
 * actually spent, peak RSS; then what the same requests and tokens imply on every plan.
 *
 *   npx tsx bench/pipedrive.ts [--persons 100000] [--plan lite] [--seats 5] [--reserve 25] [--concurrency 4]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLogger, createPool, Integrations, migrate } from "@leadpipe/core";
import { startPostgres } from "../packages/local/src/postgres";
import { startFakePipedrive } from "../test/support/fake-pipedrive";
import { declareFields, seedLeads } from "../test/support/pipedrive-seed";
import { VirtualClock } from "../test/support/virtual-clock";

const { values } = parseArgs({
  options: {
    persons: { type: "string", default: "100000" },
    plan: { type: "string", default: "lite" },
    seats: { type: "string", default: "5" },
    reserve: { type: "string", default: "25" },
    concurrency: { type: "string", default: "4" },
  },
});
const PERSONS = Number(values.persons);
const SEATS = Number(values.seats);
const RESERVE = Number(values.reserve);
const CONCURRENCY = Number(values.concurrency);
const { PLANS, BASE_TOKENS } = Integrations.Pipedrive;
const PLAN = values.plan as keyof typeof PLANS;
if (!(PLAN in PLANS)) throw new Error(`--plan must be one of ${Object.keys(PLANS).join(", ")}`);
for (const [k, v] of Object.entries({ persons: PERSONS, seats: SEATS, concurrency: CONCURRENCY }))
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive whole number`);
if (!(RESERVE >= 0 && RESERVE < 100)) throw new Error("--reserve must be a percent below 100");

const budgetOf = (plan: keyof typeof PLANS) => BASE_TOKENS * PLANS[plan].multiplier * SEATS;
const DAY = 86_400_000;
const hours = (ms: number) => `${(ms / 3_600_000).toFixed(1)} h`;

const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-pipedrive-"));
const pg = await startPostgres(path.join(tmp, "pg"));
const pool = createPool(pg.url, 4);
const clock = new VirtualClock(Date.UTC(2026, 11, 7, 0, 0, 0));
const fake = await startFakePipedrive({ burst: PLANS[PLAN].burst, dailyTokens: budgetOf(PLAN), clock });
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);
try {
  await migrate(pool);
  for (let from = 1; from <= PERSONS; from += 50_000) await seedLeads(pool, from, Math.min(50_000, PERSONS - from + 1));
  const connections: Integrations.Integrations = {
    pipedrive: {
      api_url: fake.url,
      api_token: fake.token,
      owner_field_map: declareFields(fake),
      plan: PLAN,
      seats: SEATS,
      token_reserve_percent: RESERVE,
      write_concurrency: CONCURRENCY,
    },
  };
  const log = createLogger({ service: "bench" }, () => undefined);
  const sync = Integrations.Pipedrive.pipedriveSync({ clock });
  const rows: string[] = [];
  let load = { requests: 0, tokens: 0, writes: 0 };
  for (const [label, full] of [
    ["first load", false],
    ["nothing changed", false],
    ["full reconciliation", true],
  ] as const) {
    const before = { ...fake.stats };
    peakRss = process.memoryUsage().rss;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const v0 = clock.now();
    let runs = 0;
    const sum = { requests: 0, created: 0, updated: 0, unchanged: 0, deleted: 0, failed: 0 };
    for (;;) {
      const r = await Integrations.runSync({ pool, log }, "pipedrive", sync, connections, {
        trigger: "schedule",
        full,
        dryRun: false,
      });
      runs++;
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += r[k];
      const { rows: last } = await pool.query("SELECT status FROM integration_sync_runs WHERE run_id = $1", [r.run_id]);
      if (last[0].status !== "partial") break;
      // the day's share is spent: the next scheduled run after Pipedrive's midnight resumes
      clock.set((Math.floor(clock.now() / DAY) + 1) * DAY + 60_000);
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const tokens = fake.stats.tokens - before.tokens;
    const writes = fake.stats.posts + fake.stats.patches - before.posts - before.patches;
    if (label === "first load") load = { requests: sum.requests, tokens, writes };
    rows.push(
      `| ${label} | ${runs} | ${sum.requests} | ${(sum.requests / PERSONS).toFixed(3)} | ${tokens} | ` +
        `${fake.stats.throttled - before.throttled}/${fake.stats.overBudget - before.overBudget} | ` +
        `${sum.created}/${sum.updated}/${sum.unchanged}/${sum.deleted}/${sum.failed} | ${hours(clock.now() - v0)} | ` +
        `${((cpu.user + cpu.system) / 1e6).toFixed(0)} s | ${wall.toFixed(0)} s | ${(peakRss / 2 ** 20).toFixed(0)} MB |`,
    );
  }
  console.log(
    `Pipedrive sync of ${PERSONS} persons with a lead (a person and a deal each) to the fake Pipedrive: ` +
      `${PLAN}, ${SEATS} seats (${budgetOf(PLAN)} tokens a day, ${RESERVE}% reserved for others), ` +
      `burst ${PLANS[PLAN].burst} per 2 s, ${CONCURRENCY} records at a time; virtual clock`,
  );
  console.log(
    "| run | runs | requests | requests/person | tokens | 429 burst/budget | created/updated/unchanged/deleted/failed " +
      "| time the limits imply | CPU (this process) | wall | peak RSS |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|");
  for (const row of rows) console.log(row);
  console.log(
    `\nThe first load's ${load.requests} requests, ${load.tokens} tokens and ${load.writes} writes on each plan:`,
  );
  console.log(
    "| plan | burst per 2 s | pacing alone | our tokens a day | days of tokens | days of writes (10,000 a day) |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const plan of Object.keys(PLANS) as (keyof typeof PLANS)[]) {
    const share = Math.floor((budgetOf(plan) * (100 - RESERVE)) / 100);
    const pacing = (load.requests / PLANS[plan].burst) * 2000;
    console.log(
      `| ${plan} | ${PLANS[plan].burst} | ${hours(pacing)} | ${share} | ${(load.tokens / share).toFixed(1)} | ` +
        `${(load.writes / 10_000).toFixed(1)} |`,
    );
  }
} finally {
  clearInterval(sampler);
  await fake.close();
  await pool.end();
  await pg.stop();
  rmSync(tmp, { recursive: true, force: true });
}
