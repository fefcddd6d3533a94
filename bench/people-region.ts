/**
 * Can a phone's area code stand in for the other record's ZIP region (ZIP3)? Measures, on the generator's truth, the
 * missed pairs the rules leave (people-errors.ts "the name only") and what a name + region blocking key would add.
 *
 *   npx tsx bench/people-region.ts [--people 100000] [--seed bench] [--clean] [--min-share 0.1] [--no-key-check]
 *
 * A record's regions: its ZIP3, and the ZIP3s its area code goes with in the population (records with both, the share
 * of the area code's records in that ZIP3 at least --min-share). --no-key-check: the name + region candidates are
 * checked against today's blocking keys only where the chance test would link them (at 1M people: 9.4M pairs).
 */
import { People } from "@leadpipe/core";
import { arg, clusteredTruth, recordsByPerson, splitParts } from "./people-truth";

const people = Number(arg("people", "100000"));
const minShare = Number(arg("min-share", "0.1"));
const { truth, profiles, frequencies, matcher, cluster } = clusteredTruth(people);

type P = People.MatchProfile;
const area = (p: P) => (p.phone ? p.phone.slice(2, 5) : null);
const zip3 = (p: P) => (p.zip5 ? p.zip5.slice(0, 3) : null);
// (area code, ZIP3) counted over records with both.
const pairCounts = new Map<string, Map<string, number>>();
for (const p of profiles) {
  const a = area(p),
    z = zip3(p);
  if (a === null || z === null) continue;
  let m = pairCounts.get(a);
  if (!m) pairCounts.set(a, (m = new Map()));
  m.set(z, (m.get(z) ?? 0) + 1);
}
const regionsOfArea = new Map<string, string[]>();
for (const [a, m] of pairCounts) {
  const total = [...m.values()].reduce((x, y) => x + y, 0);
  regionsOfArea.set(
    a,
    [...m].filter(([, n]) => n >= minShare * total).map(([z]) => z),
  );
}
const regions = (p: P) => {
  const out = new Set<string>();
  const z = zip3(p);
  if (z) out.add(z);
  const a = area(p);
  if (a) for (const r of regionsOfArea.get(a) ?? []) out.add(r);
  return out;
};
const top = [...pairCounts].map(([a, m]) => {
  const total = [...m.values()].reduce((x, y) => x + y, 0);
  return Math.max(...m.values()) / total;
});
console.log(
  `${profiles.length} records; area codes ${pairCounts.size}; share of an area code's records in its commonest ZIP3: median ${top.sort((x, y) => x - y)[top.length >> 1]!.toFixed(3)}, min ${top[0]!.toFixed(3)}`,
);
// How often one person's two records (a phone on one, a ZIP on the other) are in one region, and two random records.
let personPairs = 0,
  personSame = 0;
const byPerson = recordsByPerson(truth);
const regionAgrees = (a: P, b: P) => {
  // a's phone against b's ZIP (or the other way): the area code's regions hold the ZIP3.
  const x = area(a) && zip3(b) ? (regionsOfArea.get(area(a)!) ?? []).includes(zip3(b)!) : null;
  const y = area(b) && zip3(a) ? (regionsOfArea.get(area(b)!) ?? []).includes(zip3(a)!) : null;
  if (x === null && y === null) return null;
  return x === true || y === true;
};
for (const list of byPerson.values())
  for (let i = 0; i < list.length; i++)
    for (let j = i + 1; j < list.length; j++) {
      const r = regionAgrees(profiles[list[i]!]!, profiles[list[j]!]!);
      if (r === null) continue;
      personPairs++;
      if (r) personSame++;
    }
let randomPairs = 0,
  randomSame = 0;
for (let k = 0; k < 200_000; k++) {
  const i = (k * 7919) % profiles.length,
    j = (k * 104_729 + 13) % profiles.length;
  const r = regionAgrees(profiles[i]!, profiles[j]!);
  if (r === null) continue;
  randomPairs++;
  if (r) randomSame++;
}
const m = personSame / personPairs,
  u = randomSame / randomPairs;
console.log(
  `area code vs ZIP3 agrees: one person ${personSame}/${personPairs} (m ${m.toFixed(3)}), random pairs ${randomSame}/${randomPairs} (u ${u.toFixed(4)}); ratio agree ${(m / u).toFixed(1)}, disagree ${((1 - u) / (1 - m)).toFixed(1)}`,
);

// Missed pairs (parts of one person in two clusters) whose records share only the name: what their sides carry.
const missing = (x: unknown, y: unknown) => x === null || y === null;
const nameOnly = (a: P, b: P) =>
  (missing(a.dob, b.dob) || a.dob !== b.dob) &&
  (missing(a.zip5, b.zip5) || a.zip5 !== b.zip5) &&
  !(a.house !== null && a.house === b.house && a.street === b.street) &&
  (missing(a.phone7, b.phone7) || a.phone7 !== b.phone7) &&
  (missing(a.email, b.email) || a.email !== b.email);
const side = (p: P) =>
  `${p.zip5 ? "Z" : "-"}${p.phone ? "P" : p.phone7 ? "7" : "-"}${p.email ? "E" : "-"}${p.dob ? "D" : "-"}`;
const shape = new Map<string, number>();
let splits = 0,
  splitPairs = 0,
  nameOnlySplits = 0,
  nameOnlyPairs = 0,
  keyFound = 0,
  keyFoundPairs = 0,
  regionAgree = 0,
  regionAgreePairs = 0;
const nameKey = (p: P) => (p.formal && p.last ? `${p.formal}|${p.last}` : null);
for (const [left, right] of splitParts(byPerson, cluster)) {
  const pairs = left.length * right.length;
  splits++;
  splitPairs += pairs;
  let allNameOnly = true,
    key = false,
    agree = false;
  let best = "";
  for (const i of left)
    for (const j of right) {
      const a = profiles[i]!,
        b = profiles[j]!;
      if (!nameOnly(a, b)) allNameOnly = false;
      const ra = regions(a),
        rb = regions(b);
      if (nameKey(a) !== null && nameKey(a) === nameKey(b) && [...ra].some((r) => rb.has(r))) key = true;
      if (regionAgrees(a, b) === true) agree = true;
      best ||= [side(a), side(b)].sort().join(" ");
    }
  if (!allNameOnly) continue;
  nameOnlySplits++;
  nameOnlyPairs += pairs;
  shape.set(best, (shape.get(best) ?? 0) + pairs);
  if (key) {
    keyFound++;
    keyFoundPairs += pairs;
  }
  if (agree) {
    regionAgree++;
    regionAgreePairs += pairs;
  }
}
console.log(
  `missed: ${splits} splits (${splitPairs} pairs); sharing only the name: ${nameOnlySplits} (${nameOnlyPairs} pairs); ` +
    `a name + region key joins ${keyFound} (${keyFoundPairs} pairs); area code agrees with the other's ZIP3 in ${regionAgree} (${regionAgreePairs} pairs)`,
);
console.log(
  "name-only missed pairs by sides (Z ZIP, P phone with area code, 7 phone without, E e-mail, D date of birth):",
);
for (const [k, n] of [...shape].sort((x, y) => y[1] - x[1]).slice(0, 15)) console.log(`${String(n).padStart(7)}  ${k}`);

// What a name + region key brings as candidates: pairs of records sharing a formal name, surname and a region (each
// pair counted once, in the block of the first region both have); those that share no blocking key today, true and
// false (--no-key-check: not checked, every pair counted). Then which of them the chance test would link: first and
// last name the same, the area code agreeing with the other's ZIP3, records × given share × surname share × the
// region's share (standing in for a ZIP's) × the odds of what differs <= the limit.
const keyCheck = !process.argv.includes("--no-key-check");
const blocks = new Map<string, number[]>();
const regionLists = profiles.map((p) => [...regions(p)].sort());
for (let i = 0; i < profiles.length; i++) {
  const n = nameKey(profiles[i]!);
  if (n === null) continue;
  for (const r of regionLists[i]!) {
    const k = `${n}|${r}`;
    const b = blocks.get(k);
    if (b) b.push(i);
    else blocks.set(k, [i]);
  }
}
const zip3Count = new Map<string, number>();
let withZip = 0;
for (const p of profiles)
  if (p.zip5) {
    withZip++;
    zip3Count.set(p.zip5.slice(0, 3), (zip3Count.get(p.zip5.slice(0, 3)) ?? 0) + 1);
  }
const odds = frequencies.differences;
const sharesKey = (i: number, j: number) => People.blocksMeet(profiles[i]!, profiles[j]!);
const limits = [0.35, 0.2, 0.1, 0.05];
const byLimit = limits.map(() => ({ t: 0, f: 0 }));
let allPairs = 0,
  newTrue = 0,
  newFalse = 0,
  biggest = 0;
for (const [key, b] of blocks) {
  biggest = Math.max(biggest, b.length);
  const region = key.slice(key.lastIndexOf("|") + 1);
  for (let x = 0; x < b.length; x++)
    for (let y = x + 1; y < b.length; y++) {
      const i = b[x]!,
        j = b[y]!;
      if (regionLists[i]!.find((r) => regionLists[j]!.includes(r)) !== region) continue;
      allPairs++;
      const a = profiles[i]!,
        c = profiles[j]!;
      const vetoed =
        (a.dob && c.dob && a.dob !== c.dob) ||
        (a.middle && c.middle && a.middle !== c.middle) ||
        (a.generation && c.generation && a.generation !== c.generation);
      let chance = Number.POSITIVE_INFINITY;
      if (!vetoed && regionAgrees(a, c) === true) {
        let differing = 1;
        if (a.zip5 && c.zip5 && a.zip5 !== c.zip5) differing *= odds.home;
        if (a.phone7 && c.phone7 && a.phone7 !== c.phone7) differing *= odds.phone;
        if (a.email && c.email && a.email !== c.email) differing *= odds.email;
        chance =
          frequencies.records *
          Math.max(frequencies.share("g", a.formal), frequencies.share("g", c.formal)) *
          Math.max(frequencies.share("l", a.last), frequencies.share("l", c.last)) *
          ((zip3Count.get(zip3(a) ?? zip3(c)!) ?? 0) / withZip) *
          differing;
      }
      if (!keyCheck && chance > limits[0]!) continue;
      if (sharesKey(i, j)) continue;
      if (truth[i] === truth[j]) newTrue++;
      else newFalse++;
      limits.forEach((l, k) => {
        if (chance <= l) truth[i] === truth[j] ? byLimit[k]!.t++ : byLimit[k]!.f++;
      });
    }
}
console.log(
  `name + region key: ${blocks.size} blocks (largest ${biggest}), ${allPairs} pairs` +
    (keyCheck ? `; sharing no key today: ${newTrue} true, ${newFalse} false` : ""),
);
console.log(
  `chance test on them (area code agreeing with the other's ZIP3): ${limits.map((l, k) => `limit ${l}: ${byLimit[k]!.t} true, ${byLimit[k]!.f} false`).join("; ")}`,
);

// The other side: links the rules made today where a phone's area code disagrees with the other record's ZIP3 and
// neither the ZIPs nor the phones are on both records (nothing else compared them).
const rules = new Map<string, { t: number; f: number }>();
for (const l of matcher.links) {
  const a = profiles[l.from]!,
    b = profiles[l.to]!;
  if ((a.zip5 && b.zip5) || (a.phone7 && b.phone7)) continue;
  if (regionAgrees(a, b) !== false) continue;
  const reason = l.reason.replace(/[0-9.]+/g, "#");
  const r = rules.get(reason) ?? { t: 0, f: 0 };
  truth[l.from] === truth[l.to] ? r.t++ : r.f++;
  rules.set(reason, r);
}
console.log(
  "links whose area code disagrees with the other's ZIP3 (nothing else of home or phone on both): true / false",
);
for (const [k, v] of [...rules].sort((x, y) => y[1].t + y[1].f - x[1].t - x[1].f))
  console.log(`  ${v.t} / ${v.f}  ${k}`);
