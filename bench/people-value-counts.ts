/**
 * What person_value_counts holds after a population is resolved, and what a batch's read of it (Store.valueCounts:
 * the batch's value keys, the totals and every area code by ZIP3) costs: the calls made while a second import is
 * resolved are timed as they happen, then the last one is run again with EXPLAIN ANALYZE, without and with an index
 * on the area-code rows.
 *
 *   bench/priority.sh npx tsx bench/people-value-counts.ts --people 100000 --fresh 10000
 */
import pg from "pg";
import { People } from "@leadpipe/core";
import * as Store from "../packages/core/src/people/store";
import { incrementalPeople, landPeople, withScratchDatabase } from "./harness";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const people = Number(arg("people", "100000"));
const fresh = Number(arg("fresh", "10000"));
const RUNS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

// Every read of the counts a resolution makes, timed at the client (round trip and rows included).
const calls: { ms: number; keys: string[]; rows: number }[] = [];
const query = pg.Client.prototype.query as (...a: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...a: unknown[]) {
  const text = typeof a[0] === "string" ? a[0] : undefined;
  if (!text?.startsWith("SELECT key, n FROM person_value_counts WHERE key = ANY")) return query.apply(this, a);
  const t0 = performance.now();
  return (query.apply(this, a) as Promise<pg.QueryResult>).then((r) => {
    calls.push({ ms: performance.now() - t0, keys: (a[1] as [string[]])[0], rows: r.rowCount ?? 0 });
    return r;
  });
} as typeof pg.Client.prototype.query;

await withScratchDatabase("leadpipe-bench-counts-", async (pool) => {
  const imports = incrementalPeople(people, fresh);
  for (const [n, records] of imports.entries()) {
    const importId = await landPeople(pool, n + 1, records);
    const from = calls.length;
    const t0 = performance.now();
    await People.resolveImport({ pool }, importId);
    const made = calls.slice(from);
    const ms = made.map((c) => c.ms);
    console.log(
      `import ${n + 1}: ${fmt(records.length)} records resolved in ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
        `${made.length} valueCounts calls, ${median(ms).toFixed(1)} ms median, ${Math.max(...ms).toFixed(1)} ms at most ` +
        `(at the client; ${fmt(median(made.map((c) => c.keys.length)))} keys asked, ${fmt(median(made.map((c) => c.rows)))} rows read, medians)`,
    );
  }
  await pool.query("VACUUM ANALYZE person_value_counts");
  const q = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows;
  console.log(
    "database:",
    (await q("SELECT version() AS v"))[0].v,
    await q("SELECT datcollate, datlocprovider FROM pg_database WHERE datname = current_database()"),
  );
  console.log(
    "person_value_counts by kind:",
    Object.fromEntries(
      (
        await q("SELECT left(key, 2) AS kind, count(*)::int AS n FROM person_value_counts GROUP BY 1 ORDER BY 2 DESC")
      ).map((r) => [r.kind, r.n]),
    ),
    "rows:",
    (await q("SELECT count(*)::int AS n FROM person_value_counts"))[0].n,
    "size:",
    (await q("SELECT pg_size_pretty(pg_total_relation_size('person_value_counts')) AS s"))[0].s,
    "records:",
    (await q("SELECT count(*)::int AS n FROM person_records"))[0].n,
  );

  const keys = calls.at(-1)!.keys;
  const timed = async (label: string) => {
    const client = await pool.connect();
    try {
      const server: number[] = [];
      const total: number[] = [];
      let plan = "";
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        await Store.valueCounts(client, keys);
        total.push(performance.now() - t0);
        const explained = await client.query(
          `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) SELECT key, n FROM person_value_counts WHERE key = ANY ($1) OR key IN ('#', '#f', '#g', '#l', '#d', '#z') OR left(key, 3) = '#r:'`,
          [[...new Set(keys)]],
        );
        // The plan's lines, the key array cut short.
        const lines = explained.rows.map((r) => (r["QUERY PLAN"] as string).replace(/'\{[^']{60,}\}'/, "'{…}'"));
        server.push(Number(/Execution Time: ([\d.]+)/.exec(lines.at(-1)!)![1]));
        plan = lines.join("\n");
      }
      console.log(
        `\n${label}: Store.valueCounts ${median(total).toFixed(1)} ms per call at the client, ${median(server).toFixed(1)} ms executing (medians of ${RUNS}, ${fmt(keys.length)} keys)\n${plan}`,
      );
    } finally {
      client.release();
    }
  };
  await timed("as migrated");
  await pool.query("CREATE INDEX bench_counts_regions ON person_value_counts (key) WHERE left(key, 3) = '#r:'");
  await pool.query("ANALYZE person_value_counts");
  await timed("with a partial index WHERE left(key, 3) = '#r:'");
});
