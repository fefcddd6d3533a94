/**
 * Pipedrive sync of --persons golden records with interested leads (default 1000; the figure
 * is 100k) to the fake Pipedrive held to --burst requests per rolling 2-second window (default 20:
 * Pipedrive's published burst limit for the Lite plan), with the client budget declared the same.
 * Prints the first run (create), a second run with nothing changed, and a full reconciliation:
 * seconds, requests, requests per record, tokens per Pipedrive's cost table, 429s seen, peak RSS,
 * and the first run's time extrapolated to 100k persons at the same rate.
 *
 *   npx tsx bench/pipedrive.ts [--persons 1000] [--burst 20] [--concurrency 1]
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createLogger, createPool, Integrations, migrate } from "@leadpipe/core";
import { startPostgres } from "../packages/local/src/postgres";
import { startFakePipedrive } from "../test/support/fake-pipedrive";
import { declareFields, seedLeads } from "../test/support/pipedrive-seed";

const { values } = parseArgs({
  options: {
    persons: { type: "string", default: "1000" },
    burst: { type: "string", default: "20" },
    concurrency: { type: "string", default: "1" },
  },
});
const PERSONS = Number(values.persons);
const BURST = Number(values.burst);
const CONCURRENCY = Number(values.concurrency);
if (!Number.isInteger(PERSONS) || PERSONS < 1 || !Number.isInteger(BURST) || BURST < 1)
  throw new Error("--persons and --burst must be positive whole numbers");

const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-pipedrive-"));
const pg = await startPostgres(path.join(tmp, "pg"));
const pool = createPool(pg.url, 4);
const fake = await startFakePipedrive({ burst: BURST });
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
      burst_per_2s: BURST,
      write_concurrency: CONCURRENCY,
    },
  };
  const log = createLogger({ service: "bench" }, () => undefined);
  const rows: string[] = [];
  for (const [label, full] of [
    ["first run (create)", false],
    ["second run (nothing changed)", false],
    ["full reconciliation", true],
  ] as const) {
    const before = { ...fake.stats };
    const rss0 = process.memoryUsage().rss;
    peakRss = rss0;
    const t0 = performance.now();
    const r = await Integrations.runSync({ pool, log }, "pipedrive", Integrations.SYNCS.pipedrive!, connections, {
      trigger: "cli",
      full,
      dryRun: false,
    });
    const s = (performance.now() - t0) / 1000;
    const tokens = fake.stats.tokens - before.tokens;
    const throttled = fake.stats.throttled - before.throttled;
    const perRecord = r.requests / PERSONS;
    const at100k = full || label.startsWith("second") ? "" : ` ${(((s / PERSONS) * 100_000) / 3600).toFixed(1)} h`;
    rows.push(
      `| ${label} | ${s.toFixed(1)} | ${r.requests} | ${perRecord.toFixed(3)} | ${tokens} | ${throttled} | ` +
        `${r.created}/${r.updated}/${r.unchanged}/${r.deleted}/${r.failed} | ${(peakRss / 2 ** 20).toFixed(0)} MB |${at100k} |`,
    );
  }
  console.log(
    `Pipedrive sync, ${PERSONS} persons with a lead (a person and a deal each), burst ${BURST} per 2 s, ${CONCURRENCY} at a time`,
  );
  console.log(
    "| run | s | requests | requests/person | tokens | 429s | created/updated/unchanged/deleted/failed | peak RSS | 100k at this rate |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---|---:|---:|");
  for (const row of rows) console.log(row);
} finally {
  clearInterval(sampler);
  await fake.close();
  await pool.end();
  await pg.stop();
  rmSync(tmp, { recursive: true, force: true });
}
