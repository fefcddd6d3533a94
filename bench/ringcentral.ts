/**
 * The RingCentral call-log sync on --records calls (default 1M) from the local RingCentral: a full
 * sync landing them all (FSync, then the call log at 1,000 a page, landed as imports of
 * ringcentral-calls and promoted into call responses and touchpoints), then an incremental run
 * with nothing new (ISync and the 24 h late-update window). Prints time, requests, requests per
 * record, peak RSS of this process (the sync, the fake and the pipeline's handlers; PostgreSQL is
 * apart), and the time the same requests take at RingCentral's real Heavy rate (10 a minute).
 * The fake allows 1,000,000 Heavy requests a minute here, and the client paces to the same: at
 * the real rate the full sync alone is 100 minutes of waiting, which measures nothing.
 *
 *   npx tsx bench/ringcentral.ts [--records 1000000] [--per-page 1000]
 */
import { parseArgs } from "node:util";
import { Integrations, createLogger } from "@leadpipe/core";
import { s3Store } from "../packages/core/src/adapters/s3";
import { startFakeRingCentral } from "../test/support/fake-ringcentral";
import { startBench, withPeakRss } from "./harness";

const { values } = parseArgs({
  options: { records: { type: "string", default: "1000000" }, "per-page": { type: "string", default: "1000" } },
});
const RECORDS = Number(values.records);
const PER_PAGE = Number(values["per-page"]);
if (!Number.isInteger(RECORDS) || RECORDS < 1 || !Number.isInteger(PER_PAGE) || PER_PAGE < 1 || PER_PAGE > 1000)
  throw new Error("--records must be a positive whole number, --per-page 1-1000");

const BENCH_RATE = 1_000_000;
const DAY = 86_400_000;
const now = Date.now();
// the calls spread over the 30 days the first full sync reads
const fake = await startFakeRingCentral({
  heavyLimit: BENCH_RATE,
  synthetic: { count: RECORDS, startMs: now - 30 * DAY + 60_000, stepMs: Math.floor((30 * DAY - 120_000) / RECORDS) },
});
const bench = await startBench(50_000);
const connections: Integrations.Integrations = {
  ringcentral: { server_url: fake.url, client_id: "test-client", client_secret: "test-secret", jwt: "eyJ.test.jwt" },
};
const deps = {
  pool: bench.platform.pool,
  log: createLogger({ service: "bench" }, () => undefined),
  objects: { store: s3Store(bench.platform.s3), bucket: bench.platform.bucket },
};
const sync = Integrations.RingCentral.ringcentralSync({
  heavy: { maxRequests: BENCH_RATE, windowMs: 60_000 },
  perPage: PER_PAGE,
  recordsPerFile: 100_000,
  importTimeoutMs: 3_600_000,
});

async function run(label: string) {
  const started = process.hrtime.bigint();
  const { result, peakRssMb, startRssMb } = await withPeakRss(() =>
    Integrations.runSync(deps, "ringcentral", sync, connections, { trigger: "cli", full: false, dryRun: false }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const heavy = result.requests - 1; // one token request (the Auth group)
  // at 10 a minute the n-th request waits until minute floor((n - 1) / 10)
  const realMinutes = Math.floor((heavy - 1) / 10) + seconds / 60;
  console.log(
    `| ${label} | ${result.read.toLocaleString("en-US")} | ${result.created.toLocaleString("en-US")} | ` +
      `${seconds.toFixed(1)} | ${result.requests} | ${(result.requests / Math.max(1, result.read)).toFixed(4)} | ` +
      `${startRssMb} → ${peakRssMb} | ${realMinutes.toFixed(1)} min |`,
  );
  return result;
}

try {
  console.log(
    `${RECORDS.toLocaleString("en-US")} calls from the local RingCentral, ${PER_PAGE} a page (the fake and the client at ${BENCH_RATE.toLocaleString("en-US")} Heavy requests a minute)\n`,
  );
  console.log(
    "| run | records read | created | seconds | requests | requests per record read | RSS MB (start → peak) | at the real Heavy rate |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  const full = await run("full sync");
  const { rows } = await bench.platform.pool.query<{ calls: number; responses: number; touchpoints: number }>(
    `SELECT (SELECT count(*)::int FROM ringcentral_calls) AS calls,
            (SELECT count(*)::int FROM call_responses WHERE ringcentral_id IS NOT NULL) AS responses,
            (SELECT count(*)::int FROM touchpoints WHERE campaign = 'ringcentral') AS touchpoints`,
  );
  await run("incremental, nothing new");
  const r = rows[0]!;
  console.log(
    `\nlanded: ${r.calls.toLocaleString("en-US")} calls, ${r.responses.toLocaleString("en-US")} call responses, ` +
      `${r.touchpoints.toLocaleString("en-US")} touchpoints (created ${full.created.toLocaleString("en-US")})`,
  );
  if (r.calls !== RECORDS) throw new Error(`expected ${RECORDS} calls landed, found ${r.calls}`);
} finally {
  await bench.close();
  await fake.close();
}
