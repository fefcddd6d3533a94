/**
 * People matching: pairwise precision/recall/F1 on synthetic people with known truth, and the
 * rate of incremental matching (standardize + block + compare + link) of new rows against an
 * existing population of golden records.
 *
 *   npx tsx bench/people.ts [--people 10000,1000000] [--incremental 1000000:100000]
 */
import { People } from "@leadpipe/core";
import { syntheticPeople } from "../packages/local/src/generate/people";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
/** CPU seconds of this process since `from` (the machine is shared: wall time depends on the load, CPU time much less). */
const cpuOf = (from: NodeJS.CpuUsage) => { const u = process.cpuUsage(from); return (u.user + u.system) / 1e6; };
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function accuracy(people: number) {
  const truth: number[] = [];
  const matcher = new People.Matcher();
  const records = [...syntheticPeople({ people, seed: "bench" })];
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (const r of records) {
    truth.push(r.personId);
    matcher.add(People.profileOf(People.standardizeContact(r.input)));
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuOf(cpu);
  const predicted = truth.map((_t, i) => matcher.find(i));
  const s = People.pairwiseScores(truth, predicted);
  const clusters = new Set(predicted).size;
  console.log(`| ${fmt(people)} | ${fmt(truth.length)} | ${fmt(clusters)} | ${s.precision.toFixed(4)} | ${s.recall.toFixed(4)} | ${s.f1.toFixed(4)} | ${fmt(truth.length / seconds)} | ${fmt(truth.length / cpuSeconds)} | ${matcher.oversized.size} |`);
}

function incremental(base: number, fresh: number) {
  // Streamed from the generator: only the truth (one number per record) is kept beside the matcher, as in production.
  const total = [...syntheticPeople({ people: base + Math.round(fresh * 0.6), seed: "incremental" })].length;
  const cut = total - fresh;
  const truth = new Int32Array(total);
  const matcher = new People.Matcher();
  const records = syntheticPeople({ people: base + Math.round(fresh * 0.6), seed: "incremental" });
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
  const t1 = performance.now();
  const cpu = process.cpuUsage();
  for (const r of newRows) {
    truth[i++] = r.personId;
    matcher.add(People.profileOf(People.standardizeContact(r.input)));
  }
  const seconds = (performance.now() - t1) / 1000;
  const cpuSeconds = cpuOf(cpu);
  const s = People.pairwiseScores(truth, Array.from({ length: total }, (_x, k) => matcher.find(k)));
  console.log(`| ${fmt(cut)} records → ${fmt(golden)} golden (built in ${built.toFixed(1)} s) | ${fmt(fresh)} | ${seconds.toFixed(2)} s | ${fmt(fresh / seconds)} | ${fmt(fresh / cpuSeconds)} | ${s.f1.toFixed(4)} | ${fmt(process.memoryUsage().rss / 2 ** 20)} MB |`);
}

console.log("| people | records | clusters | precision | recall | F1 | records/s (wall) | records/CPU-s | oversized blocks |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const n of arg("people", "10000,1000000").split(",").map(Number).filter((n) => n > 0)) accuracy(n);
const [base, fresh] = arg("incremental", "1000000:100000").split(":").map(Number) as [number, number];
if (base > 0) {
  console.log("\n| existing | new rows | time | new rows/s (wall) | new rows/CPU-s | F1 (all) | RSS |\n|---|---:|---:|---:|---:|---:|---:|");
  incremental(base, fresh);
}
