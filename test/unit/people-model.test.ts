import { describe, expect, it } from "vitest";
import { People } from "@leadpipe/core";
import * as Matching from "@leadpipe/core/matching";
import { PassThrough } from "node:stream";
import path from "node:path";
import { readFebrl, FEBRL_DIR } from "../../bench/febrl-data";
import { matchFile } from "../../packages/local/src/commands/match";
import { syntheticPeople } from "../../packages/local/src/generate/people";

/** mulberry32: a small seeded generator, so the synthetic sets are the same on every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const record = (input: People.ContactInput) =>
  Matching.modelRecordOf(People.standardizeContact(input, new Date("2026-12-01T00:00:00Z")));
const FIRST = [
  "oliver",
  "amelia",
  "jack",
  "charlotte",
  "william",
  "isla",
  "noah",
  "mia",
  "thomas",
  "grace",
  "lucas",
  "zoe",
  "henry",
  "ruby",
  "leo",
  "ella",
];
const LAST = [
  "nguyen",
  "papadopoulos",
  "kowalski",
  "okafor",
  "lindqvist",
  "moreau",
  "tanaka",
  "fitzgerald",
  "haddad",
  "ivanova",
  "brennan",
  "castillo",
];
const letters = "abcdefghijklmnopqrstuvwxyz";

/** A copy of a name with one letter replaced. */
const typo = (s: string, rnd: () => number) => {
  const i = Math.floor(rnd() * s.length);
  const c = letters[(letters.indexOf(s[i]!) + 1 + Math.floor(rnd() * 24)) % 26]!;
  return s.slice(0, i) + c + s.slice(i + 1);
};

/**
 * `people` people, each with two records; the second record's surname has a typo with probability
 * `typoRate` (so the surname's m(exact) is 1 - typoRate), every other field copied.
 */
function synthetic(people: number, typoRate: number, seed = 7) {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const inputs: People.ContactInput[] = [];
  const truth: number[] = [];
  for (let p = 0; p < people; p++) {
    const last = `${pick(LAST)}${pick(["", "son", "er", "ley", "man"])}`;
    const base: People.ContactInput = {
      first_name: pick(FIRST),
      last_name: last,
      dob: `19${String(40 + Math.floor(rnd() * 60))}-0${1 + Math.floor(rnd() * 9)}-1${Math.floor(rnd() * 9)}`,
      zip: String(10000 + Math.floor(rnd() * 300)).padStart(5, "0"),
    };
    inputs.push(base);
    truth.push(p);
    inputs.push({ ...base, last_name: rnd() < typoRate ? typo(last, rnd) : last });
    truth.push(p);
  }
  return { records: inputs.map(record), truth };
}

const partition = (clusters: ArrayLike<number>, ids: readonly number[]) => {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < clusters.length; i++) groups.set(clusters[i]!, [...(groups.get(clusters[i]!) ?? []), ids[i]!]);
  return [...groups.values()].map((g) => g.sort((a, b) => a - b).join(",")).sort();
};

describe("the Fellegi–Sunter model", () => {
  it("EM recovers m of a field from unlabelled pairs (surname typo rate 20 % → m(exact) ≈ 0.8)", () => {
    const { records, truth } = synthetic(1000, 0.2);
    const result = Matching.linkRecords(records);
    const surname = result.model.fields.find((f) => f.name === "surname")!;
    const exact = surname.levels.find((l) => l.level === "exact")!;
    expect(exact.m).toBeGreaterThan(0.75);
    expect(exact.m).toBeLessThan(0.85);
    // u of an exact surname among random pairs is small: ~1 in 60 surnames.
    expect(exact.u).toBeLessThan(0.03);
    expect(result.model.iterations).toBeLessThan(100);
    expect(result.model.households).toBe(false);
    const s = Matching.pairwiseScores(truth, result.clusters);
    expect(s.f1).toBeGreaterThan(0.99);
  });

  it("weighs an exact agreement on a common surname less than on a rare one (term frequency)", () => {
    const rnd = random(11);
    const inputs: People.ContactInput[] = [];
    for (let i = 0; i < 300; i++)
      inputs.push({
        first_name: FIRST[i % FIRST.length]!,
        last_name: "smith",
        dob: `1960-01-${String(1 + (i % 28)).padStart(2, "0")}`,
        zip: String(20000 + Math.floor(rnd() * 50)),
      });
    for (let i = 0; i < 300; i++)
      inputs.push({
        first_name: FIRST[i % FIRST.length]!,
        last_name: `${LAST[i % LAST.length]}${i}`,
        dob: "1970-05-05",
        zip: String(30000 + i),
      });
    // Surnames are compared by their letters: "okafor3" is "okafor"; "quartermaine" is in no other record.
    inputs.push(
      { first_name: "grace", last_name: "quartermaine", dob: "1981-02-03", zip: "40001" },
      { first_name: "grace", last_name: "quartermaine", dob: "1981-02-03", zip: "40001" },
    );
    inputs.push(
      { first_name: "grace", last_name: "smith", dob: "1981-02-03", zip: "40001" },
      { first_name: "grace", last_name: "smith", dob: "1981-02-03", zip: "40001" },
    );
    const result = Matching.linkRecords(inputs.map(record));
    const n = inputs.length;
    const surnameWeight = (from: number, to: number) =>
      result.explain(from, to).find((c) => c.field === "surname")!.weight;
    expect(surnameWeight(n - 4, n - 3)).toBeGreaterThan(surnameWeight(n - 2, n - 1) + 4);
    expect(result.reason(n - 4, n - 3)).toMatch(
      /^fs [\d.]+ \(vs others\): first name exact \+[\d.]+, surname exact \+[\d.]+, date of birth exact/,
    );
  });

  it("compares swapped first name and surname both ways", () => {
    const { records } = synthetic(300, 0.1);
    records.push(record({ first_name: "Siobhan", last_name: "Quartermaine", dob: "1977-03-04", zip: "10020" }));
    records.push(record({ first_name: "Quartermaine", last_name: "Siobhan", dob: "1977-03-04", zip: "10020" }));
    const result = Matching.linkRecords(records);
    const n = records.length;
    expect(result.clusters[n - 1]).toBe(result.clusters[n - 2]);
    expect(result.reason(n - 2, n - 1)).toContain("first name exact (swapped with surname)");
  });

  it("scores a declared identifier with a typo instead of vetoing; a different one weighs against", () => {
    const { records } = synthetic(300, 0.1);
    const withId = (input: People.ContactInput, ssn: string) => record({ ...input, ids: { ssn } });
    const base = { first_name: "Marguerite", last_name: "Delacroix", dob: "1955-06-07", zip: "10100" };
    records.push(
      withId(base, "4417302"),
      withId({ ...base, zip: "10177" }, "4417320"),
      withId({ ...base, first_name: "Margaret", zip: "10199" }, "9051186"),
    );
    // Each synthetic person's two records share an identifier.
    for (let i = 0; i < records.length - 3; i++)
      records[i] = { ...records[i]!, ids: [`ssn=${String(1000000 + (i >> 1) * 7919)}`] };
    const result = Matching.linkRecords(records);
    const n = records.length;
    const id = (from: number, to: number) => result.explain(from, to).find((c) => c.field === "identifier")!;
    expect(id(n - 3, n - 2).level).toBe("one typo");
    expect(id(n - 3, n - 2).weight).toBeGreaterThan(0);
    expect(result.clusters[n - 3]).toBe(result.clusters[n - 2]);
    expect(id(n - 3, n - 1).level).toBe("different");
    expect(id(n - 3, n - 1).weight).toBeLessThan(-3);
  });

  it("keeps a value that does not standardize as text: an Australian state and postcode agree", () => {
    const r = record({
      first_name: "Ann",
      last_name: "Lee",
      street: "12 wallaby place",
      city: "delmar",
      state: "nsw",
      zip: "2119",
      dob: "18991301",
    });
    expect(r).toMatchObject({
      state: "NSW",
      zip: "02119",
      city: "DELMAR",
      house: "12",
      street: "WALLABY",
      dob: "18991301",
    });
    // A missing field is neutral: it contributes nothing.
    const { records } = synthetic(200, 0.1);
    records.push(
      record({ first_name: "Ann", last_name: "Leeson", dob: "1950-01-01", zip: "10010" }),
      record({ first_name: "Ann", last_name: "Leeson", zip: "10010" }),
    );
    const result = Matching.linkRecords(records);
    expect(result.explain(records.length - 2, records.length - 1).map((c) => c.field)).toEqual([
      "prior",
      "first name",
      "surname",
      "postcode",
    ]);
  });

  it("gives the same links and clusters for any order of the records", () => {
    const { records, truth } = synthetic(300, 0.3, 3);
    const ids = records.map((_r, i) => i);
    const before = Matching.linkRecords(records);
    const rnd = random(99);
    for (let round = 0; round < 2; round++) {
      const order = ids.slice();
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const after = Matching.linkRecords(order.map((i) => records[i]!));
      expect(partition(after.clusters, order)).toEqual(partition(before.clusters, ids));
      expect(after.links.length).toBe(before.links.length);
      expect(after.model.lambda).toEqual(before.model.lambda);
    }
    expect(Matching.pairwiseScores(truth, before.clusters).f1).toBeGreaterThan(0.98);
  });

  it("proposes columns that name a person identifier as identifiers, unless identifiers are declared", () => {
    const header = [
      "rec_id",
      "given_name",
      "surname",
      "Social Security Number",
      "Member No.",
      "soc_sec_id",
      "postcode",
    ];
    const guessed = People.mapHeaders(header);
    expect([...guessed.ids.values()]).toEqual(["Social Security Number", "Member No.", "soc_sec_id"]);
    expect(guessed.proposed).toEqual(["Social Security Number", "Member No.", "soc_sec_id"]);
    const declared = People.mapHeaders(header, {}, ["soc_sec_id"]);
    expect([...declared.ids.values()]).toEqual(["soc_sec_id"]);
    expect(declared.proposed).toEqual([]);
    expect([...People.mapHeaders(header, {}, [], { propose: false }).ids.values()]).toEqual([]);
  });

  it("FEBRL 1 (1,000 records, soc_sec_id not declared): pairwise F1 at least as measured (1.0000 on 2026-12-07)", () => {
    {
      const rows = readFebrl("dataset1.csv");
      const result = Matching.linkRecords(rows.map((r) => record(r.input)));
      const s = Matching.pairwiseScores(
        rows.map((r) => r.person),
        result.clusters,
      );
      expect(s.f1).toBeGreaterThanOrEqual(0.998);
      expect(s.precision).toBeGreaterThanOrEqual(0.998);
    }
  });

  it("on people with households (the generator) keeps a household class, and the same partition for any order", () => {
    const rows = [...syntheticPeople({ people: 800, seed: "model-households" })];
    const records = rows.map((r) => record(r.input));
    const truth = rows.map((r) => r.personId);
    const before = Matching.linkRecords(records);
    expect(before.model.households).toBe(true);
    const s = Matching.pairwiseScores(truth, before.clusters);
    expect(s.precision).toBeGreaterThan(0.97);
    expect(s.recall).toBeGreaterThan(0.97);
    const order = records.map((_r, i) => i).reverse();
    const after = Matching.linkRecords(order.map((i) => records[i]!));
    expect(partition(after.clusters, order)).toEqual(
      partition(
        before.clusters,
        order.map((_x, i) => i),
      ),
    );
    // A link's parts add up to its weight, and name the explanation it is weighed against.
    const link = before.links[0]!;
    const parts = before.explain(link.from, link.to);
    expect(parts.reduce((x, c) => x + c.weight, 0)).toBeCloseTo(link.weight, 6);
  });

  it("leadpipe match --model fs: the FEBRL header maps by name, soc_sec_id is taken as an identifier", async () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    const summary = await matchFile(path.join(FEBRL_DIR, "dataset1.csv"), out, { model: "fs" });
    expect(summary.proposed).toEqual(["soc_sec_id"]);
    const lines = text
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","));
    expect(lines).toHaveLength(1000);
    const truth = lines.map(([id]) => Number(/^rec-(\d+)-/.exec(id!)![1]));
    const s = Matching.pairwiseScores(
      truth,
      lines.map(([, cluster]) => cluster!),
    );
    expect(s.f1).toBeGreaterThanOrEqual(0.998);
    const linked = lines.find(([id]) => id === "rec-0-dup-0") ?? lines.find(([, , score]) => score !== "")!;
    expect(Number(linked[2])).toBeGreaterThanOrEqual(0.5);
    expect(text).toMatch(/fs [\d.]+ \(vs others\): first name /);
  });
});
