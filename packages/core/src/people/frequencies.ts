/**
 * How common a value is in the population matched against: the number of records by given name
 * (as written and nickname-folded), surname, date of birth and ZIP. Matching uses them to ask how
 * many records would agree with a pair by chance (Fellegi–Sunter's u-probabilities, per value):
 * "James Smith" in a ZIP of 500 records is a coincidence to expect, "Kwame Okafor" is not.
 *
 * A share is estimated with a prior worth PRIOR_RECORDS records (a Dirichlet prior: a small list
 * says little about how common a name is, so its shares stay near the prior; a million records
 * speak for themselves). Counts come from the records of the run plus, in the database, the
 * records already resolved (person_value_counts), so an import is matched against the
 * frequencies of the population it joins.
 */

/** The kinds of value counted: given name key (as written), formal given name, surname, date of birth, ZIP. */
export type CountedKind = "f" | "g" | "l" | "d" | "z";

/** What a share is before any record is seen: about one name in a thousand, one surname in ten thousand, one birthday in ~60 years, one ZIP in 40,000. */
const PRIOR_SHARE: Record<CountedKind, number> = {
  f: 1 / 1000,
  g: 1 / 1000,
  l: 1 / 10_000,
  d: 1 / 21_900,
  z: 1 / 40_000,
};
const PRIOR_RECORDS = 1000;
/** Where each total is kept in `totals` ("#": every record; "#g": records with a given name …). */
const TOTAL_KEYS = ["#", "#f", "#g", "#l", "#d", "#z"] as const;
const TOTAL: Record<CountedKind, number> = { f: 1, g: 2, l: 3, d: 4, z: 5 };
const totalIndex = (key: string) => (TOTAL_KEYS as readonly string[]).indexOf(key);

/** The part of a match profile that is counted. */
export interface CountedValues {
  first: string | null;
  formal: string | null;
  last: string | null;
  dob: string | null;
  zip5: string | null;
}

/** The counted values of a record, as keys: "#g:robert", "#l:smith", "#d:1970-03-04", "#z:02116" (stored in person_records.counted_keys, summed in person_value_counts). */
export function frequencyKeys(p: CountedValues): string[] {
  const keys: string[] = [];
  if (p.first) keys.push(`#f:${p.first}`);
  if (p.formal) keys.push(`#g:${p.formal}`);
  if (p.last) keys.push(`#l:${p.last}`);
  if (p.dob) keys.push(`#d:${p.dob}`);
  if (p.zip5) keys.push(`#z:${p.zip5}`);
  return keys;
}

/** The total a value key adds to: "#g:robert" → "#g" (records with a given name); every record adds to "#". */
export const totalKeyOf = (key: string) => key.slice(0, 2);

export class Frequencies {
  // One map per kind (no key text built per lookup: shares are read in the hot loop of matching).
  // A value's count is boxed: counting it is one look-up, not a get and a set (five per record matched).
  private readonly values: Record<CountedKind, Map<string, { n: number }>> = {
    f: new Map(),
    g: new Map(),
    l: new Map(),
    d: new Map(),
    z: new Map(),
  };
  // The totals in an array (read by every share, bumped by every count: no Map look-up); any other total key in a Map.
  private readonly totals = new Float64Array(TOTAL_KEYS.length);
  private readonly otherTotals = new Map<string, number>();

  /** Adds a record's values (by = -1 takes them away: a record re-resolved after a newer delivery). */
  count(p: CountedValues, by = 1): void {
    // What frequencyKeys(p) then add(key) would do, without building and slicing each key's text (once per record matched).
    this.totals[0]! += by;
    this.countValue("f", p.first, by);
    this.countValue("g", p.formal, by);
    this.countValue("l", p.last, by);
    this.countValue("d", p.dob, by);
    this.countValue("z", p.zip5, by);
  }

  private countValue(kind: CountedKind, value: string | null, by: number): void {
    if (!value) return;
    changeBox(this.values[kind], value, by);
    this.totals[TOTAL[kind]]! += by;
  }

  /** Adds a count for a value key ("#g:robert") and its kind's total, e.g. loaded from person_value_counts. */
  add(key: string, n: number): void {
    this.bump(key, n);
    this.bump(totalKeyOf(key), n);
  }

  /** Sets raw counts (value keys and totals as stored). */
  load(rows: Iterable<readonly [string, number]>): void {
    for (const [key, n] of rows) this.bump(key, n);
  }

  /** Records counted. */
  get records(): number {
    return this.totals[0]!;
  }

  /** Every count, value keys and totals. */
  *entries(): IterableIterator<[string, number]> {
    for (let i = 0; i < TOTAL_KEYS.length; i++) if (this.totals[i] !== 0) yield [TOTAL_KEYS[i]!, this.totals[i]!];
    yield* this.otherTotals;
    for (const [kind, map] of Object.entries(this.values))
      for (const [value, box] of map) yield [`#${kind}:${value}`, box.n];
  }

  /** A count by key: a value ("#g:robert") or a total ("#g", "#"). */
  get(key: string): number {
    if (key.length > 2) return this.countOf(key[1] as CountedKind, key.slice(3));
    const i = totalIndex(key);
    return i >= 0 ? this.totals[i]! : (this.otherTotals.get(key) ?? 0);
  }

  countOf(kind: CountedKind, value: string): number {
    return this.values[kind].get(value)?.n ?? 0;
  }

  /** Estimated share of the records with a value of `kind` that have this value. */
  share(kind: CountedKind, value: string | null): number {
    if (value === null) return 1;
    return (
      (this.countOf(kind, value) + PRIOR_RECORDS * PRIOR_SHARE[kind]) / (this.totals[TOTAL[kind]]! + PRIOR_RECORDS)
    );
  }

  private bump(key: string, n: number): void {
    if (key.length <= 2) {
      const i = totalIndex(key);
      if (i >= 0) this.totals[i]! += n;
      else change(this.otherTotals, key, n);
    } else changeBox(this.values[key[1] as CountedKind], key.slice(3), n);
  }
}

/** change() for a boxed count. */
function changeBox(map: Map<string, { n: number }>, key: string, n: number): void {
  const box = map.get(key);
  if (box === undefined) {
    if (n !== 0) map.set(key, { n });
  } else if ((box.n += n) === 0) map.delete(key);
}

function change(map: Map<string, number>, key: string, n: number): void {
  const next = (map.get(key) ?? 0) + n;
  if (next === 0) map.delete(key);
  else map.set(key, next);
}
