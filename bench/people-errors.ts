/**
 * Where the tiered rules go wrong on the generator: the pairs they miss and the pairs they join wrongly, bucketed by
 * what the two records have in common (docs/people-model.md, "Errors of the rules").
 *
 *   npx tsx bench/people-errors.ts [--people 100000] [--seed bench] [--clean] [--examples 2] [--top 25]
 *
 * A pair is described field by field (first name, surname, date of birth, address, phone, e-mail):
 * `=` the same, `~` alike (a typo, a nickname, the last 7 digits), `x` different, `-` missing on either side.
 * Missed pairs are split into: compared and refused by the rules (by description), never compared (no shared
 * blocking key), linked but kept apart by the cluster check (two dates of birth that differ). False pairs are
 * counted through the wrong links that join their clusters, by the rule that made each one.
 */
import { People } from "@leadpipe/core";
import * as Matching from "@leadpipe/core/matching";
import { arg, clusteredTruth, recordsByPerson, splitParts } from "./people-truth";

const people = Number(arg("people", "100000"));
const examples = Number(arg("examples", "2"));
const top = Number(arg("top", "25"));

const { truth, profiles, frequencies, matcher, cluster } = clusteredTruth(people);
const s = Matching.pairwiseScores(truth, Array.from(cluster));
console.log(
  `${people} people, ${profiles.length} records: P ${s.precision.toFixed(5)} R ${s.recall.toFixed(5)} F1 ${s.f1.toFixed(5)}` +
    ` (missed pairs ${s.truePairs - s.correctPairs}, false pairs ${s.predictedPairs - s.correctPairs})`,
);

type P = People.MatchProfile;
const missing = (x: unknown, y: unknown) => x === null || y === null;
const firstOf = (a: P, b: P) => {
  if (missing(a.first, b.first)) return "-";
  if (a.first === b.first) return "=";
  if (a.formals.some((f) => b.formals.includes(f))) return "n";
  return a.first![0] === b.first![0] ? "~" : "x";
};
const lastOf = (a: P, b: P) => {
  if (missing(a.last, b.last)) return "-";
  if (a.last === b.last) return "=";
  return a.lastSound === b.lastSound ? "~" : "x";
};
const dobOf = (a: P, b: P) => {
  if (missing(a.dob, b.dob)) return "-";
  if (a.dob === b.dob) return "=";
  return a.dob!.slice(0, 4) === b.dob!.slice(0, 4) ? "~" : "x";
};
/** `=` the same house and ZIP, `z` the same ZIP, `h` the same house and street (a ZIP missing). */
const homeOf = (a: P, b: P) => {
  if (missing(a.zip5, b.zip5)) return a.house !== null && a.house === b.house && a.street === b.street ? "h" : "-";
  if (a.zip5 !== b.zip5) return "x";
  return a.house !== null && a.house === b.house ? "=" : "z";
};
const phoneOf = (a: P, b: P) => {
  if (missing(a.phone7, b.phone7)) return "-";
  if (a.phone === b.phone) return "=";
  return a.phone7 === b.phone7 ? "~" : "x";
};
const emailOf = (a: P, b: P) => {
  if (missing(a.email, b.email)) return "-";
  if (a.email === b.email) return "=";
  return a.emailDomain === b.emailDomain ? "~" : "x";
};
const describe = (a: P, b: P) =>
  `first ${firstOf(a, b)} last ${lastOf(a, b)} dob ${dobOf(a, b)} home ${homeOf(a, b)} phone ${phoneOf(a, b)} email ${emailOf(a, b)}`;
const show = (p: P) =>
  [p.first, p.last, p.dob, p.zip5, p.house, p.street, p.phone ?? p.phone7, p.email].map((v) => v ?? "·").join(" ");

class Buckets {
  readonly counts = new Map<string, { n: number; examples: string[] }>();
  total = 0;
  add(key: string, n: number, example: () => string) {
    let b = this.counts.get(key);
    if (!b) this.counts.set(key, (b = { n: 0, examples: [] }));
    b.n += n;
    this.total += n;
    if (b.examples.length < examples) b.examples.push(example());
  }
  print(title: string) {
    console.log(`\n${title}: ${this.total}`);
    const rows = [...this.counts].sort((x, y) => y[1].n - x[1].n).slice(0, top);
    for (const [key, b] of rows) {
      console.log(`${String(b.n).padStart(7)}  ${(b.n / this.total).toFixed(3)}  ${key}`);
      for (const e of b.examples) console.log(`           ${e}`);
    }
  }
}

// Records by true person and by cluster.
const byPerson = recordsByPerson(truth);

// Missed pairs: a person's records in two clusters (two parts of the person). The pairs across two parts are bucketed
// by the best of them (the one closest to a link: linked but split, then never compared, then refused; then the most
// fields that agree), since one link between two parts would join all of their pairs.
const KINDS = [
  "linked, split by the cluster check",
  "rules link, never compared",
  "compared, refused",
  "no key, refused",
];
const agreeing = (d: string) => (d.match(/[=~nhz] /g) ?? []).length + (d.endsWith("=") || d.endsWith("~") ? 1 : 0);
/** Only the name in common: no date of birth, home, phone or e-mail that agrees. */
const nameOnly = (d: string) => /dob [-x~] home [-x] phone [-x] email [-x~]$/.test(d);
const missed = new Buckets();
const missedKind = new Buckets();
for (const [left, right] of splitParts(byPerson, cluster)) {
  let best: { rank: number; agree: number; kind: string; description: string; example: string } | undefined;
  for (const i of left)
    for (const j of right) {
      const a = profiles[i]!,
        b = profiles[j]!;
      const verdict = People.compare(a, b, frequencies);
      const shared = People.blocksMeet(a, b);
      const rank = verdict ? (shared ? 0 : 1) : shared ? 2 : 3;
      const description = describe(a, b);
      const agree = agreeing(description);
      if (best && (best.rank < rank || (best.rank === rank && best.agree >= agree))) continue;
      const example = `${show(a)}  |  ${show(b)}${verdict ? `  [${verdict.reason}]` : ""}`;
      best = { rank, agree, kind: KINDS[rank]!, description, example };
    }
  const b = best!;
  const pairs = left.length * right.length;
  const kind = b.rank === 3 && nameOnly(b.description) ? `${b.kind} (the name only)` : b.kind;
  missedKind.add(kind, pairs, () => b.example);
  missed.add(`${kind}: ${b.description}`, pairs, () => b.example);
}
missedKind.print("missed pairs by kind");
missed.print("missed pairs by description");

// False pairs: for each cluster, its records by person; the wrong links (between two people) inside it, by rule.
const byCluster = new Map<number, number[]>();
for (let i = 0; i < truth.length; i++) {
  const list = byCluster.get(cluster[i]!);
  if (list) list.push(i);
  else byCluster.set(cluster[i]!, [i]);
}
const falsePairsOf = (records: number[]) => {
  const counts = new Map<number, number>();
  for (const i of records) counts.set(truth[i]!, (counts.get(truth[i]!) ?? 0) + 1);
  let all = (records.length * (records.length - 1)) / 2;
  for (const n of counts.values()) all -= (n * (n - 1)) / 2;
  return all;
};
const wrongLinks = new Map<number, (typeof matcher.links)[number][]>();
for (const l of matcher.links) {
  if (truth[l.from] === truth[l.to] || cluster[l.from] !== cluster[l.to]) continue;
  const c = cluster[l.from]!;
  const list = wrongLinks.get(c);
  if (list) list.push(l);
  else wrongLinks.set(c, [l]);
}
const wrong = new Buckets();
const wrongRule = new Buckets();
for (const [c, records] of byCluster) {
  const pairs = falsePairsOf(records);
  if (pairs === 0) continue;
  const links = wrongLinks.get(c) ?? [];
  // The false pairs of a cluster shared among its wrong links.
  for (const l of links) {
    const a = profiles[l.from]!,
      b = profiles[l.to]!;
    const example = () => `${show(a)}  |  ${show(b)}  [${l.reason}]`;
    wrong.add(`${l.reason.replace(/[0-9.]+/g, "#")}: ${describe(a, b)}`, pairs / links.length, example);
    wrongRule.add(l.reason.replace(/[0-9.]+/g, "#"), pairs / links.length, example);
  }
}
wrongRule.print("false pairs by the rule of the wrong link");
wrong.print("false pairs by rule and description");
