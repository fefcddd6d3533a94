/**
 * People matching: pairwise precision/recall/F1 on synthetic people with known truth, and the
 * rate of incremental matching (standardize + block + compare + link) of new rows against an
 * existing population of golden records.
 *
 * --seed picks the generator's seed (default "bench"); --clean generates without typos, nicknames, moves or new numbers
 * (syntheticPeople's `clean`: the "clean data" of the precision target).
 *
 *   npx tsx bench/people.ts [--people 10000,1000000] [--seed bench] [--clean] [--model rules,fs] [--threshold 0.5] [--incremental 1000000:100000] [--threads 2] [--cold-worker]
 *
 * --model picks the engines the accuracy table runs: the tiered rules (People.Matcher) and the Fellegi–Sunter model
 * (Matching.linkRecords, --threshold its match probability).
 *
 * --threads 2 (the default) standardizes the new rows (and hashes their blocking keys) on a worker
 * thread while this one matches them (Matching.standardizedBatches); --threads 1 does both on this thread.
 * The worker starts while the existing records load and warms up on 10,000 of their contacts;
 * --cold-worker starts it when the clock starts, without a warm-up.
 *
 * --resolve 100000:10000 measures the database path the people consumer takes after each import
 * (People.resolveImport: candidates from person_keys, match, store links, keys and golden records)
 * on an embedded PostgreSQL: one import of the existing people, then one of the new rows. --max-candidates N bounds
 * each batch's candidates (ResolveOptions.maxCandidates; default People.MAX_CANDIDATES); the RSS column is this
 * process's peak so far.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { People } from "@leadpipe/core";
import * as Matching from "@leadpipe/core/matching";
import { syntheticPeople } from "../packages/local/src/generate/people";
import { incrementalPeople, landPeople, postgresCpuSeconds, withScratchDatabase } from "./harness";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
/** Contacts the worker warms up on (a sample of the existing people). */
const WARM_UP = 10_000;
/** CPU seconds of this process since `from` (the machine is shared: wall time depends on the load, CPU time much less). */
const cpuOf = (from: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
};
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function accuracy(people: number) {
  const truth: number[] = [];
  const records = [...syntheticPeople({ people, seed: arg("seed", "bench"), clean: process.argv.includes("--clean") })];
  const started = performance.now();
  const cpu = process.cpuUsage();
  // One batch, as an import is resolved: its names are counted before it is matched (Matching.clusterContacts does the same).
  const frequencies = new People.Frequencies();
  const profiles = records.map((r) => {
    truth.push(r.personId);
    const p = People.profileOf(People.standardizeContact(r.input));
    frequencies.count(p);
    return p;
  });
  const matcher = new People.Matcher({ frequencies });
  for (const p of profiles) matcher.add(p);
  const clustersOf = matcher.clusters();
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuOf(cpu);
  const predicted = Array.from(clustersOf);
  const s = Matching.pairwiseScores(truth, predicted);
  const clusters = new Set(predicted).size;
  console.log(
    `| ${fmt(people)} | rules | ${fmt(truth.length)} | ${fmt(clusters)} | ${s.precision.toFixed(4)} | ${s.recall.toFixed(4)} | ${s.f1.toFixed(4)} | ${fmt(truth.length / seconds)} | ${fmt(truth.length / cpuSeconds)} | ${matcher.oversized.size} |`,
  );
}

/** The same people through the Fellegi–Sunter model (Matching.linkRecords): standardize, train (EM) and link in one batch. */
function modelAccuracy(people: number) {
  const truth: number[] = [];
  const inputs: People.ContactInput[] = [];
  for (const r of syntheticPeople({ people, seed: "bench" })) {
    truth.push(r.personId);
    inputs.push(r.input);
  }
  collectGarbage();
  const started = performance.now();
  const cpu = process.cpuUsage();
  const records = inputs.map((input) => Matching.modelRecordOf(People.standardizeContact(input)));
  const result = Matching.linkRecords(records, { threshold: Number(arg("threshold", "0.5")) });
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuOf(cpu);
  const s = Matching.pairwiseScores(truth, result.clusters);
  const clusters = new Set(result.clusters).size;
  console.log(
    `| ${fmt(people)} | Fellegi–Sunter | ${fmt(truth.length)} | ${fmt(clusters)} | ${s.precision.toFixed(4)} | ${s.recall.toFixed(4)} | ${s.f1.toFixed(4)} | ${fmt(truth.length / seconds)} | ${fmt(truth.length / cpuSeconds)} | ${result.blocks.oversized} |` +
      ` EM ${result.model.iterations} iterations over ${fmt(result.model.blockedPairs)} pairs, RSS ${fmt(process.memoryUsage().rss / 2 ** 20)} MB`,
  );
}

/** A full garbage collection (the generator builds every true person up front: what it leaves behind is not what is measured). */
function collectGarbage() {
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

async function incremental(base: number, fresh: number, threads: number) {
  // Streamed from the generator: only the truth (one number per record) is kept beside the matcher, as in production.
  let total = 0;
  // A sample of the existing people's contacts, for the worker to warm up on while the rest load.
  const sample: People.ContactInput[] = [];
  for (const r of syntheticPeople({ people: base + Math.round(fresh * 0.6), seed: "incremental" }))
    if (total++ < WARM_UP) sample.push(r.input);
  const cut = total - fresh;
  const truth = new Int32Array(total);
  const matcher = new People.Matcher();
  const records = syntheticPeople({ people: base + Math.round(fresh * 0.6), seed: "incremental" });
  // The worker starts while the existing records load, as a caller that loads its population first can start it, and
  // warms up on a sample of them (--cold-worker: started when the clock starts, no warm-up; it loads in ~0.2 s built,
  // ~0.8 s under tsx, and then standardizes at under half its speed until its code is compiled).
  const worker =
    threads > 1 && !process.argv.includes("--cold-worker") ? new Matching.ProfileWorker({ warmUp: sample }) : undefined;
  const t0 = performance.now();
  let i = 0;
  for (; i < cut; i++) {
    const r = records.next().value!;
    truth[i] = r.personId;
    matcher.add(People.profileOf(People.standardizeContact(r.input)));
  }
  const built = (performance.now() - t0) / 1000;
  const golden = new Set(Array.from({ length: cut }, (_x, k) => matcher.find(k))).size;
  // The new rows are generated before the clock starts (the generator is not what is measured).
  const newRows = Array.from({ length: fresh }, () => records.next().value!);
  for (const r of newRows) truth[i++] = r.personId;
  collectGarbage();
  const t1 = performance.now();
  const cpu = process.cpuUsage();
  if (threads > 1) {
    // Block keys hashed on the worker too: this thread only looks them up.
    for await (const { profiles, keys, keyStarts } of Matching.standardizedBatches(
      newRows.map((r) => r.input),
      { worker },
    )) {
      for (let k = 0; k < profiles.length; k++) matcher.addKeyed(profiles[k]!, keys, keyStarts[k]!, keyStarts[k + 1]!);
    }
  } else {
    for (const r of newRows) matcher.add(People.profileOf(People.standardizeContact(r.input)));
  }
  const seconds = (performance.now() - t1) / 1000;
  const cpuSeconds = cpuOf(cpu);
  const s = Matching.pairwiseScores(
    truth,
    Array.from({ length: total }, (_x, k) => matcher.find(k)),
  );
  console.log(
    `| ${fmt(cut)} records → ${fmt(golden)} golden (built in ${built.toFixed(1)} s) | ${fmt(fresh)} | ${threads} | ${seconds.toFixed(2)} s | ${fmt(fresh / seconds)} | ${fmt(fresh / cpuSeconds)} | ${s.f1.toFixed(4)} | ${fmt(process.memoryUsage().rss / 2 ** 20)} MB |`,
  );
}

/** resolveImport of an import of `fresh` new rows against the records of `base` people already resolved. */
async function databasePath(base: number, fresh: number) {
  await withScratchDatabase("leadpipe-bench-people-", async (pool, pg) => {
    const imports = incrementalPeople(base, fresh);
    console.log(
      "\n| import | records | land (upsert) | resolve | records/s resolved (wall) | CPU-s: this process / PostgreSQL | created | attached | merged | links | peak RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    );
    for (const [n, records] of imports.entries()) {
      const t0 = performance.now();
      const importId = await landPeople(pool, n + 1, records);
      const landed = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const cpu = process.cpuUsage();
      const pgCpu = postgresCpuSeconds(pg.dataDir);
      const maxCandidates = Number(arg("max-candidates", String(People.MAX_CANDIDATES)));
      const r = await People.resolveImport({ pool }, importId, undefined, { maxCandidates });
      const seconds = (performance.now() - t1) / 1000;
      console.log(
        `| ${n === 0 ? "existing" : "new rows"} | ${fmt(records.length)} | ${landed.toFixed(1)} s | ${seconds.toFixed(1)} s | ${fmt(records.length / seconds)} | ${cpuOf(cpu).toFixed(1)} / ${(postgresCpuSeconds(pg.dataDir) - pgCpu).toFixed(1)} | ${fmt(r.created)} | ${fmt(r.attached)} | ${fmt(r.merged)} | ${fmt(r.links)} | ${fmt(process.resourceUsage().maxRSS / 1024)} MB |`,
      );
    }
  });
}

const engines = arg("model", "rules,fs").split(",");
console.log(
  "| people | engine | records | clusters | precision | recall | F1 | records/s (wall) | records/CPU-s | oversized blocks |\n|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
);
for (const n of arg("people", "10000,1000000")
  .split(",")
  .map(Number)
  .filter((n) => n > 0)) {
  if (engines.includes("rules")) accuracy(n);
  if (engines.includes("fs")) modelAccuracy(n);
}
const [base, fresh] = arg("incremental", "1000000:100000").split(":").map(Number) as [number, number];
if (base > 0) {
  console.log(
    "\n| existing | new rows | threads | time | new rows/s (wall) | new rows/CPU-s | F1 (all) | RSS |\n|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  await incremental(base, fresh, Number(arg("threads", "2")));
}
const [dbBase, dbFresh] = arg("resolve", "0:0").split(":").map(Number) as [number, number];
if (dbBase > 0) await databasePath(dbBase, dbFresh);
