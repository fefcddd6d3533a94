/**
 * Legacy migration end to end: a generated legacy MariaDB table migrated by `leadpipe migrate` (read
 * in a snapshot, cast, landed as contacts imports, people resolved, reconciled with checksums), against
 * pgloader loading the same table into PostgreSQL in the same run.
 *
 *   npx tsx bench/migrate.ts [--rows 1000000] [--range-rows 50000] [--parallel 2] [--max-candidates N]
 *
 * --max-candidates sets the people consumer's PEOPLE_MAX_CANDIDATES (the most candidates a batch holds;
 * People.MAX_CANDIDATES when left out).
 *
 * Needs Debian's mariadb-server and pgloader (apt-get install -y mariadb-server pgloader); without
 * pgloader the row for it says so and our figures are printed alone. pgloader loads into a database
 * of its own on the same PostgreSQL server as the platform. Prints one table: per stage seconds and
 * rows/s, and the ratio of our rows/s to pgloader's; then `migrate verify` of the finished run on one lane
 * and on --parallel lanes (the same manifest), people idle.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { migrateSource, verifyRun } from "../packages/local/src/commands/migrate";
import { Migration } from "@leadpipe/core";
import { startMariaDb } from "../test/support/mariadb";
import { startBench } from "./harness";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "range-rows": { type: "string", default: "50000" },
    parallel: { type: "string", default: "2" },
    "max-candidates": { type: "string" },
  },
});
const PARALLEL = Number(values.parallel);
if (!Number.isInteger(PARALLEL) || PARALLEL < 1) throw new Error("--parallel: a positive whole number");
const ROWS = Number(values.rows);
const RANGE_ROWS = Number(values["range-rows"]);
// Read by functions/resolve-people.ts on the platform's workers (they start after this, with this process's env).
if (values["max-candidates"] !== undefined) process.env.PEOPLE_MAX_CANDIDATES = values["max-candidates"];
if (!Number.isInteger(ROWS) || ROWS < 1 || ROWS > 1_000_000) throw new Error("--rows: a whole number up to 1000000");
if (!Number.isInteger(RANGE_ROWS) || RANGE_ROWS < 1) throw new Error("--range-rows: a positive whole number");

const FIRST = ["Ann", "Bob", "Carol", "Dan", "Eve", "Frank", "Grace", "Hans", "Ivy", "José"];
const LAST = ["Smith", "Jones", "Müller", "Ortiz", "Kim", "Brown", "Nguyen", "Day", "Ray", "Lopez"];
const CITIES = [
  ["Boston", "MA", "021"],
  ["Austin", "TX", "787"],
  ["Denver", "CO", "802"],
] as const;

/** One legacy row: every tenth a person seen before (another id, same name and e-mail), every 500th a zero date. */
function row(i: number): unknown[] {
  const p = i % 10 === 0 ? i - 7 : i;
  const [city, state, zip] = CITIES[p % 3]!;
  const first = `${FIRST[p % 10]}${p % 1000}`;
  const last = `${LAST[(p >> 3) % 10]}${p % 997}`;
  return [
    i,
    first,
    last,
    `${first}.${last}.${p}@example.com`
      .normalize("NFD")
      .replace(/[^\x20-\x7e]/g, "")
      .toLowerCase(),
    `617${String(2_000_000 + (p % 7_999_999)).padStart(7, "0")}`,
    `${1 + (p % 9999)} Main St`,
    city,
    state,
    `${zip}${String(p % 100).padStart(2, "0")}`,
    i % 500 === 0
      ? "0000-00-00"
      : `19${50 + (p % 50)}-${String(1 + (p % 12)).padStart(2, "0")}-${String(1 + (p % 28)).padStart(2, "0")}`,
    `2019-0${1 + (i % 9)}-15 10:${String(i % 60).padStart(2, "0")}:00`,
    `${p % 100000}.${String(p % 100).padStart(2, "0")}`,
    i % 3 ? null : "",
  ];
}

const tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-bench-migrate-"));
const maria = await startMariaDb(path.join(tmp, "mariadb"));
const bench = await startBench(50_000);
try {
  const root = await maria.root();
  await root.query(`SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
    CREATE DATABASE legacy CHARACTER SET utf8mb4;
    CREATE TABLE legacy.customers (id BIGINT UNSIGNED PRIMARY KEY, fname VARCHAR(50), lname VARCHAR(50), email VARCHAR(100),
      phone VARCHAR(20), street VARCHAR(100), city VARCHAR(50), state CHAR(2), zip VARCHAR(10), dob DATE, created DATETIME,
      balance DECIMAL(14,2), notes TEXT);
    CREATE USER 'legacy'@'127.0.0.1' IDENTIFIED BY 'legacy-pass';
    GRANT SELECT, SHOW VIEW ON legacy.* TO 'legacy'@'127.0.0.1';
    GRANT RELOAD ON *.* TO 'legacy'@'127.0.0.1';`);
  let t = Date.now();
  for (let i = 1; i <= ROWS; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, ROWS - i + 1) }, (_v, k) => row(i + k));
    await root.query("INSERT INTO legacy.customers VALUES ?", [batch]);
  }
  await root.end();
  console.error(`generated ${ROWS} legacy rows in MariaDB in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const from = `mysql://legacy:legacy-pass@127.0.0.1:${maria.port}/legacy`;

  // pgloader: the same table into a database of its own on the platform's PostgreSQL server.
  let pgloader: { seconds: number; rows: number } | string;
  const bin = ["/usr/bin/pgloader", "/usr/local/bin/pgloader"].find(existsSync);
  if (!bin) pgloader = "not installed (apt-get install -y pgloader)";
  else {
    const admin = new pg.Client({ connectionString: bench.platform.pg!.url });
    await admin.connect();
    await admin.query("CREATE DATABASE pgloader_target");
    await admin.end();
    const target = new URL(bench.platform.pg!.url);
    target.pathname = "/pgloader_target";
    t = Date.now();
    // Its default casts fail a COPY batch on a zero date in a nullable DATE column (and exit 0 having
    // loaded none of the batch's rows): cast zero dates to NULL as its manual says, so it loads them all.
    const load = path.join(tmp, "load.pgloader");
    writeFileSync(
      load,
      `LOAD DATABASE FROM ${from} INTO ${target.toString()}
       CAST type date to date drop default drop not null using zero-dates-to-null,
            type datetime to timestamptz drop default drop not null using zero-dates-to-null;\n`,
      { mode: 0o600 },
    );
    const r = spawnSync(bin, [load], { encoding: "utf8", timeout: 600_000 });
    console.error(`pgloader ended (${r.status ?? r.signal}) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const seconds = (Date.now() - t) / 1000;
    if (r.status !== 0) pgloader = `failed (${r.status}): ${(r.stderr || r.stdout).slice(-500)}`;
    else {
      const c = new pg.Client({ connectionString: target.toString() });
      await c.connect();
      const {
        rows: [n],
      } = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM legacy.customers");
      await c.end();
      pgloader = { seconds, rows: n!.n };
      if (n!.n !== ROWS)
        console.error(`pgloader loaded ${n!.n} of ${ROWS} rows:\n${(r.stdout + r.stderr).slice(-3000)}`);
    }
  }

  const timings: Record<string, number> = {};
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 200);
  t = Date.now();
  const manifest = await migrateSource(bench.platform, { from, rangeRows: RANGE_ROWS, parallel: PARALLEL, timings });
  const total = (Date.now() - t) / 1000;
  clearInterval(sampler);
  const summary = Migration.summary(manifest);
  if (summary.status !== "COMPLETE") throw new Error(`migration ended ${JSON.stringify(summary)}`);
  const {
    rows: [people],
  } = await bench.platform.pool.query<{ records: number; people: number }>(
    "SELECT count(*)::int AS records, count(DISTINCT person_id)::int AS people FROM person_records WHERE source_kind = 'legacy-contacts'",
  );
  // `migrate verify` of the finished run, people idle: on one lane and on --parallel lanes (same manifest).
  const verifies: { lanes: number; seconds: number; cpu: number }[] = [];
  // Alternated (1, N, 1, N): neither side gets only the warm caches.
  for (const lanes of PARALLEL > 1 ? [1, PARALLEL, 1, PARALLEL] : [1]) {
    const cpu = process.cpuUsage();
    const v0 = Date.now();
    const verified = await verifyRun(bench.platform, manifest.run_id, from, lanes, () => undefined);
    const used = process.cpuUsage(cpu);
    verifies.push({ lanes, seconds: (Date.now() - v0) / 1000, cpu: (used.user + used.system) / 1e6 });
    if (JSON.stringify(Migration.summary(verified)) !== JSON.stringify(summary))
      throw new Error(`verify on ${lanes} lane(s) gave ${JSON.stringify(Migration.summary(verified))}`);
  }
  const rate = (s: number) => `${Math.round(ROWS / s).toLocaleString("en-US")} rows/s`;
  const STAGES: Record<string, string> = {
    read: "read (source, keyset pages)",
    cast: "cast + build objects + checksums",
    land: "land (checkpoints, quarantine, puts)",
    imports: "imports (staging, promotion; wait after landing)",
    people: "people resolution (wait after imports)",
    reconcile: "verify (source read again, checksums; alongside people)",
  };
  const ms = (k: string) => timings[k] ?? 0;
  const stageLine = (name: string, s: number) => `| ${ROWS} | ${name} | ${s.toFixed(1)} | ${rate(s)} |`;
  // read, cast and land add up the lanes' time (they overlap when --parallel > 1); people and verify run at once.
  const withoutPeople = total - (Math.max(ms("people"), ms("reconcile")) - ms("reconcile")) / 1000;
  const lines = [
    `| rows | stage | seconds | rows/s |`,
    `|---:|---|---:|---:|`,
    ...Object.keys(STAGES).map((k) => stageLine(`ours: ${STAGES[k]}`, ms(k) / 1000)),
    stageLine("**ours: total without people resolution**", withoutPeople),
    stageLine("**ours: total**", total),
    ...verifies.map((v) =>
      stageLine(`migrate verify afterwards, ${v.lanes} lane(s) (${v.cpu.toFixed(1)} CPU-s in this process)`, v.seconds),
    ),
    typeof pgloader === "string"
      ? `| ${ROWS} | pgloader | ${pgloader} | |`
      : `| ${pgloader.rows} | pgloader | ${pgloader.seconds.toFixed(1)} | ${rate(pgloader.seconds)} |`,
  ];
  console.log(lines.join("\n"));
  console.log(
    `\ntables: ${JSON.stringify(summary.tables)}\nperson records ${people!.records}, golden people ${people!.people}; ` +
      `peak RSS of this process ${Math.round(peak / 2 ** 20)} MB; load average ${os.loadavg()[0]!.toFixed(1)}` +
      (typeof pgloader === "string"
        ? ""
        : `\nratio (our rows/s ÷ pgloader's): ${(pgloader.seconds / total).toFixed(2)}` +
          ` (without people resolution: ${(pgloader.seconds / withoutPeople).toFixed(2)})`) +
      `\n84M rows extrapolated at this total rate: ${(84e6 / (ROWS / total) / 3600).toFixed(1)} h` +
      ` (without people resolution: ${(84e6 / (ROWS / withoutPeople) / 3600).toFixed(1)} h)`,
  );
} finally {
  await bench.close();
  await maria.stop();
  rmSync(tmp, { recursive: true, force: true });
}
