/**
 * Pairwise precision / recall / F1 of the Fellegi–Sunter model (Matching.linkRecords) on the FEBRL
 * benchmark files (fixtures/febrl/): FEBRL 1 and 2 tune, FEBRL 3 (dedup) and 4 (two files linked)
 * are held out. Each set is run without and with soc_sec_id declared as an identifier.
 *
 *   npx tsx bench/febrl.ts [--threshold 0.5] [--broad 60] [--rules]
 *
 * --broad is the model's guard on one-value blocks (ModelOptions.maxBroadBlock).
 * --rules adds the tiered rule matcher (People.Matcher, what `leadpipe match` ran before) for comparison.
 */
import { People } from "@leadpipe/core";
import * as Matching from "@leadpipe/core/matching";
import { readFebrl, type FebrlRecord } from "./febrl-data";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const threshold = Number(arg("threshold", "0.5"));

const SETS: { name: string; files: string[]; use: string }[] = [
  { name: "FEBRL 1", files: ["dataset1.csv"], use: "tuning" },
  { name: "FEBRL 2", files: ["dataset2.csv"], use: "tuning" },
  { name: "FEBRL 3", files: ["dataset3.csv"], use: "held out" },
  { name: "FEBRL 4", files: ["dataset4a.csv", "dataset4b.csv"], use: "held out" },
];

function run(files: string[], ssn: boolean) {
  const parts = files.map((f) => readFebrl(f, { ssn }));
  const rows: FebrlRecord[] = parts.flat();
  const sources = parts.length > 1 ? Int32Array.from(parts.flatMap((p, s) => p.map(() => s))) : undefined;
  const cpu = process.cpuUsage();
  const records = rows.map((r) => Matching.modelRecordOf(People.standardizeContact(r.input)));
  const result = Matching.linkRecords(records, { threshold, sources, maxBroadBlock: Number(arg("broad", "60")) });
  const used = process.cpuUsage(cpu);
  const seconds = (used.user + used.system) / 1e6;
  const s = Matching.pairwiseScores(
    rows.map((r) => r.person),
    result.clusters,
  );
  return { s, seconds, result, rows };
}

function rules(files: string[], ssn: boolean) {
  const rows = files.flatMap((f) => readFebrl(f, { ssn }));
  const r = Matching.clusterContacts(rows.map((x) => ({ id: x.id, input: x.input })));
  const ids = new Map(rows.map((x, i) => [x.id, i]));
  return Matching.pairwiseScores(
    rows.map((x) => x.person),
    r.rows.map((x) => ids.get(x.clusterId)!),
  );
}

console.log(
  `threshold ${threshold}\n\n| set | use | SSN declared | records | precision | recall | F1 | EM iterations | blocked pairs | CPU-s |${process.argv.includes("--rules") ? " rules F1 |" : ""}`,
);
console.log(`|---|---|---|---:|---:|---:|---:|---:|---:|---:|${process.argv.includes("--rules") ? "---:|" : ""}`);
for (const set of SETS) {
  for (const ssn of [false, true]) {
    const { s, seconds, result, rows } = run(set.files, ssn);
    const extra = process.argv.includes("--rules") ? ` ${rules(set.files, ssn).f1.toFixed(4)} |` : "";
    console.log(
      `| ${set.name} | ${set.use} | ${ssn ? "yes" : "no"} | ${rows.length.toLocaleString("en-US")} | ${s.precision.toFixed(4)} | ${s.recall.toFixed(4)} | **${s.f1.toFixed(4)}** | ${result.model.iterations} | ${result.model.blockedPairs.toLocaleString("en-US")} | ${seconds.toFixed(1)} |${extra}`,
    );
  }
}
