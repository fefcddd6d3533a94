/**
 * Helper for the benches that study the rules' errors against the generator's truth (people-errors.ts,
 * people-region.ts): the generated records clustered by the tiered rules, and the parts a true person is split into.
 */
import { People } from "@leadpipe/core";
import { syntheticPeople } from "../packages/local/src/generate/people";

/** The value after `--name` on the command line, or `fallback`. */
export const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};

/**
 * `people` generated people (`--seed`, `--clean` from the command line) standardized, counted and clustered by the
 * matcher: each record's true person, its match profile, the counts, and its cluster.
 */
export function clusteredTruth(people: number) {
  const truth: number[] = [];
  const profiles: People.MatchProfile[] = [];
  const frequencies = new People.Frequencies();
  for (const r of syntheticPeople({ people, seed: arg("seed", "bench"), clean: process.argv.includes("--clean") })) {
    truth.push(r.personId);
    const p = People.profileOf(People.standardizeContact(r.input));
    frequencies.count(p);
    profiles.push(p);
  }
  const matcher = new People.Matcher({ frequencies });
  for (const p of profiles) matcher.add(p);
  return { truth, profiles, frequencies, matcher, cluster: matcher.clusters() };
}

/** Record indexes by true person. */
export function recordsByPerson(truth: readonly number[]): Map<number, number[]> {
  const byPerson = new Map<number, number[]>();
  for (let i = 0; i < truth.length; i++) {
    const list = byPerson.get(truth[i]!);
    if (list) list.push(i);
    else byPerson.set(truth[i]!, [i]);
  }
  return byPerson;
}

/** Every two parts (records in one cluster) of one true person split across clusters: the missed pairs, by part. */
export function* splitParts(
  byPerson: Map<number, number[]>,
  cluster: ArrayLike<number>,
): Generator<[number[], number[]]> {
  for (const records of byPerson.values()) {
    const parts = new Map<number, number[]>();
    for (const i of records) {
      const part = parts.get(cluster[i]!);
      if (part) part.push(i);
      else parts.set(cluster[i]!, [i]);
    }
    const list = [...parts.values()];
    for (let x = 0; x < list.length; x++) for (let y = x + 1; y < list.length; y++) yield [list[x]!, list[y]!];
  }
}
