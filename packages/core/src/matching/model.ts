import { doubleMetaphone } from "double-metaphone";
import { keyHash } from "../people/match";
import { nameKey } from "../people/name";
import { formalName, otherFormalNames } from "../people/nicknames";
import type { PersonRecord } from "../people/record";
import { compareDob, editsWithin, jaroWinkler, transposed } from "../people/similarity";

/*
 * A Fellegi–Sunter record-linkage model (Fellegi & Sunter 1969; the family Splink and fastLink
 * belong to). Each candidate pair is a vector of comparison levels, one per field (exact,
 * Jaro-Winkler or edit-distance bands, different; a field missing on either side is neutral).
 * m[l] = P(level l | same person) and u[l] = P(level l | different people) are learnt from the data
 * without labels: EM over the blocked pairs that share a narrow key, u of the population from a
 * sample of record pairs (and, for the exact level, from the values' counts). Where the data has
 * households, EM fits a third class for them (expectationMaximization). A pair's match weight is
 * the log2 odds of "one person" against the other classes; without households it is the prior
 * log-odds plus the sum of its fields' log2(m/u), an exact agreement weighed by how common the
 * agreed value is (term frequency: "smith" = "smith" is worth less than "okafor" = "okafor").
 * Pairs whose match probability reaches the threshold are linked; clusters are the connected
 * components of the links.
 *
 * Everything is a function of the records' contents, never of their order: the blocks, the
 * pairs, the sample (chosen by a hash of each record's values), EM (patterns summed in code
 * order), and each pair compared with its records in content order. Any permutation of the input
 * gives the same links and the same clusters.
 */

/** What the model compares of a record: standardized values, or (a value that did not standardize) its text. */
export interface ModelRecord {
  first: string | null;
  /** The formal names `first` may stand for (nicknames folded; an ambiguous one has several). */
  formals: readonly string[];
  last: string | null;
  lastSound: string | null;
  dob: string | null;
  zip: string | null;
  city: string | null;
  state: string | null;
  house: string | null;
  street: string | null;
  email: string | null;
  emailDomain: string | null;
  phone: string | null;
  phone7: string | null;
  /** Declared identifiers as "name=VALUE". */
  ids: readonly string[];
}

/** Upper-case letters and digits of a raw value, or null when none (a value kept as text). */
const asText = (s: string | null | undefined): string | null => {
  if (s === null || s === undefined) return null;
  const t = s
    .normalize("NFKD")
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "");
  return t === "" ? null : t;
};

/**
 * A record for the model. A value that did not standardize (a foreign postcode, an unknown state,
 * a date that is no calendar date) is compared as its text instead of being dropped: two records
 * that both say "nsw" agree on it.
 */
export function modelRecordOf(
  r: Pick<
    PersonRecord,
    | "first"
    | "last"
    | "email"
    | "phone"
    | "phone7"
    | "dob"
    | "zip5"
    | "city"
    | "state"
    | "houseNumber"
    | "streetName"
    | "ids"
    | "raw"
  >,
): ModelRecord {
  const raw = r.raw;
  const first = nameKey(r.first);
  const last = nameKey(r.last);
  const formal = first === null ? null : formalName(first);
  const formals = formal === null ? [] : [formal, ...otherFormalNames(first!)];
  const email = r.email ? r.email.replace(/\+[^@]*@/, "@") : asText(raw.email);
  const digits = (raw.phone ?? raw.phone2 ?? "").replace(/\D/g, "");
  let street = r.streetName ? asText(r.streetName) : null;
  let house = r.houseNumber;
  if (street === null && house === null && raw.street) {
    // Not parsed as a US street line: its number (if it starts with one) and the rest as text.
    const m = /^\s*(\d+[A-Za-z]?)\b\s*(.*)$/.exec(raw.street);
    house = m ? m[1]!.toUpperCase() : null;
    street = asText(m ? m[2] : raw.street);
  }
  return {
    first,
    formals,
    last,
    lastSound: last ? doubleMetaphone(last)[0] || last : null,
    dob: r.dob ?? asText(raw.dob),
    zip: r.zip5 ?? asText(raw.zip),
    city: r.city ? asText(r.city) : asText(raw.city),
    state: r.state ?? asText(raw.state),
    house,
    street,
    email,
    emailDomain: email && email.includes("@") ? email.slice(email.indexOf("@") + 1) : null,
    phone: r.phone ?? (digits.length >= 7 ? digits : null),
    phone7: r.phone7 ?? (digits.length >= 7 ? digits.slice(-7) : null),
    ids: r.ids,
  };
}

/** A field the model compares: its levels (best first; the last is "different"), and whether an exact agreement is weighed by the value's frequency. */
interface FieldSpec {
  name: string;
  levels: readonly string[];
  /** The value whose frequency weighs an exact agreement (term frequency), or null. */
  tf: ((r: ModelRecord) => string | null) | null;
  /** The level of a pair, or -1 when either record lacks the field. */
  compare: (a: ModelRecord, b: ModelRecord) => number;
}

const MISSING = -1;

function nameLevel(a: string | null, b: string | null): number {
  if (a === null || b === null) return MISSING;
  if (a === b) return 0;
  // Two neighbouring letters swapped: Jaro's match window is empty for three letters ("joe" / "jeo": 0.56).
  if (a.length === b.length && transposed(a, b)) return 1;
  const jw = jaroWinkler(a, b);
  return jw >= 0.92 ? 1 : jw >= 0.8 ? 2 : 3;
}

function firstLevel(a: ModelRecord, b: ModelRecord): number {
  if (a.first === null || b.first === null) return MISSING;
  if (a.first === b.first) return 0;
  if (a.formals.some((f) => b.formals.includes(f))) return 1;
  if (a.first.length === b.first.length && transposed(a.first, b.first)) return 2;
  const jw = jaroWinkler(a.first, b.first);
  if (jw >= 0.92) return 2;
  if (jw >= 0.8) return 3;
  if ((a.first.length === 1 || b.first.length === 1) && a.first[0] === b.first[0]) return 4;
  return 5;
}

function lastLevel(a: ModelRecord, b: ModelRecord): number {
  return nameLevel(a.last, b.last);
}

function textLevel(a: string | null, b: string | null, bands: readonly number[]): number {
  if (a === null || b === null) return MISSING;
  if (a === b) return 0;
  const jw = jaroWinkler(a, b);
  for (let k = 0; k < bands.length; k++) if (jw >= bands[k]!) return k + 1;
  return bands.length + 1;
}

function editLevel(a: string | null, b: string | null, max: number): number {
  if (a === null || b === null) return MISSING;
  return editsWithin(a, b, max);
}

function dobLevel(a: ModelRecord, b: ModelRecord): number {
  if (a.dob === null || b.dob === null) return MISSING;
  if (a.dob === b.dob) return 0;
  if (compareDob(a.dob, b.dob) === "near") return 1;
  // Two ISO dates have their dashes in the same places: the distance is the digits'.
  const d = editsWithin(a.dob, b.dob, 2);
  return d <= 1 ? 1 : d === 2 ? 2 : 3;
}

/**
 * The address as one field: house number, street, postcode, city and state agree or differ
 * together (a household shares all of them, a move changes all of them), so five fields would
 * count one fact five times. Levels: the same address; one part differs (a typo in the number or
 * street, or another postcode for the same house and street); the same area (postcode, or city
 * where a postcode is missing); the same region (postcode one typo apart, a similar city, or only
 * the state in common); different.
 */
function addressLevel(a: ModelRecord, b: ModelRecord): number {
  const house = a.house !== null && b.house !== null ? editsWithin(a.house, b.house, 1) : -1;
  const street = a.street !== null && b.street !== null ? jaroWinkler(a.street, b.street) : -1;
  const zip = a.zip !== null && b.zip !== null ? editsWithin(a.zip, b.zip, 1) : -1;
  const city = a.city !== null && b.city !== null ? jaroWinkler(a.city, b.city) : -1;
  const state = a.state !== null && b.state !== null ? (a.state === b.state ? 1 : 0) : -1;
  if (house < 0 && street < 0 && zip < 0 && city < 0 && state < 0) return MISSING;
  const area = zip === 0 ? 2 : zip === 1 ? 1 : zip > 1 ? 0 : city < 0 ? -1 : city >= 0.9 ? 2 : 0;
  if (house === 0 && street >= 0.9) return area === 2 || area === -1 ? 0 : 1;
  if (
    area === 2 &&
    ((house <= 1 && house >= 0 && street >= 0.75) || (house < 0 && street >= 0.9) || (house === 0 && street < 0))
  )
    return 1;
  if (area === 2) return 2;
  if (area === 1 || city >= 0.9 || state === 1) return 3;
  return 4;
}

function emailLevel(a: ModelRecord, b: ModelRecord): number {
  if (a.email === null || b.email === null) return MISSING;
  if (a.email === b.email) return 0;
  return a.emailDomain !== null && a.emailDomain === b.emailDomain && editsWithin(a.email, b.email, 1) <= 1 ? 1 : 2;
}

function phoneLevel(a: ModelRecord, b: ModelRecord): number {
  if (a.phone7 === null || b.phone7 === null) return MISSING;
  if (a.phone !== null && a.phone === b.phone) return 0;
  if (a.phone7 === b.phone7) return 1;
  return editsWithin(a.phone7, b.phone7, 1) <= 1 ? 2 : 3;
}

/** The best level over the identifiers both records declare (by name); missing when they share none. */
function idLevel(a: ModelRecord, b: ModelRecord): number {
  let best = MISSING;
  for (const x of a.ids) {
    const eq = x.indexOf("=");
    for (const y of b.ids) {
      if (y.length <= eq || y.charCodeAt(eq) !== 61 || y.slice(0, eq) !== x.slice(0, eq)) continue;
      const d = editsWithin(x.slice(eq + 1), y.slice(eq + 1), 2);
      if (best === MISSING || d < best) best = d;
    }
  }
  return best;
}

/** The fields compared, in vector order. first and last come first: `vector` compares them crossed too (swapped names). */
export const MODEL_FIELDS: readonly FieldSpec[] = [
  {
    name: "first name",
    levels: ["exact", "nickname", "Jaro-Winkler ≥ 0.92", "Jaro-Winkler ≥ 0.8", "initial", "different"],
    tf: (r) => r.first,
    compare: firstLevel,
  },
  {
    name: "surname",
    levels: ["exact", "Jaro-Winkler ≥ 0.92", "Jaro-Winkler ≥ 0.8", "different"],
    tf: (r) => r.last,
    compare: lastLevel,
  },
  { name: "date of birth", levels: ["exact", "one typo", "two typos", "different"], tf: null, compare: dobLevel },
  {
    name: "address",
    levels: ["exact", "one part differs", "same area", "same region", "different"],
    tf: null,
    compare: addressLevel,
  },
  {
    name: "postcode",
    levels: ["exact", "one typo", "different"],
    tf: (r) => r.zip,
    compare: (a, b) => editLevel(a.zip, b.zip, 1),
  },
  {
    name: "city",
    levels: ["exact", "Jaro-Winkler ≥ 0.9", "different"],
    tf: (r) => r.city,
    compare: (a, b) => textLevel(a.city, b.city, [0.9]),
  },
  {
    name: "state",
    levels: ["exact", "different"],
    tf: null,
    compare: (a, b) => (a.state === null || b.state === null ? MISSING : a.state === b.state ? 0 : 1),
  },
  {
    name: "house number",
    levels: ["exact", "one typo", "different"],
    tf: null,
    compare: (a, b) => editLevel(a.house, b.house, 1),
  },
  {
    name: "street",
    levels: ["exact", "Jaro-Winkler ≥ 0.9", "Jaro-Winkler ≥ 0.75", "different"],
    tf: (r) => r.street,
    compare: (a, b) => textLevel(a.street, b.street, [0.9, 0.75]),
  },
  { name: "e-mail", levels: ["exact", "one typo", "different"], tf: null, compare: emailLevel },
  { name: "phone", levels: ["exact", "last 7 digits", "one typo", "different"], tf: null, compare: phoneLevel },
  { name: "identifier", levels: ["exact", "one typo", "two typos", "different"], tf: null, compare: idLevel },
];
const K = MODEL_FIELDS.length;
/** Mixed-radix digits of a pattern code: each field's level, or its level count for missing. */
const RADIX = MODEL_FIELDS.map((f) => f.levels.length + 1);
const STRIDE: number[] = [];
{
  let s = 1;
  for (let k = 0; k < K; k++) {
    STRIDE.push(s);
    s *= RADIX[k]!;
  }
}

/** The comparison of a pair: its pattern code and whether the names matched crossed (first ↔ surname). */
function vector(a: ModelRecord, b: ModelRecord, levels: Int8Array): boolean {
  for (let k = 2; k < K; k++) levels[k] = MODEL_FIELDS[k]!.compare(a, b);
  const f = firstLevel(a, b),
    l = lastLevel(a, b);
  levels[0] = f;
  levels[1] = l;
  // Swapped first name and surname: compared crossed when both crossed agree closely and the straight names do not.
  if ((f >= 3 || l >= 2) && a.first !== null && b.last !== null && a.last !== null && b.first !== null) {
    const xf = nameLevel(a.first, b.last),
      xl = nameLevel(a.last, b.first);
    if (xf <= 1 && xl <= 1) {
      levels[0] = xf === 0 ? 0 : 2;
      levels[1] = xl;
      return true;
    }
  }
  return false;
}

const codeOf = (levels: Int8Array) => {
  let code = 0;
  for (let k = 0; k < K; k++) code += (levels[k]! < 0 ? RADIX[k]! - 1 : levels[k]!) * STRIDE[k]!;
  return code;
};

function levelsOf(code: number, out: Int8Array): Int8Array {
  for (let k = 0; k < K; k++) {
    const d = Math.floor(code / STRIDE[k]!) % RADIX[k]!;
    out[k] = d === RADIX[k]! - 1 ? MISSING : d;
  }
  return out;
}

export interface ModelOptions {
  /** Link a pair when the probability that it is one person is at least this; default 0.5. */
  threshold?: number;
  /** A narrow block (two or three values) holding more records than this is not compared (default 200). */
  maxBlock?: number;
  /** A broad block (one value: a date of birth, a surname) holding more records than this is not compared (default 60). */
  maxBroadBlock?: number;
  /** Records in the sample whose pairs estimate u (default 600: about 180,000 pairs). */
  sample?: number;
  /** EM iterations at most (default 100; it stops when no parameter moves by 1e-5). */
  iterations?: number;
  /**
   * Whether EM models households as a class of their own (members share surname, address and phone). Left out: EM
   * tries, and keeps the class when what it found is a household.
   */
  households?: boolean;
  /** Sources of the records (linking two files): pairs within one source are not compared. */
  sources?: ArrayLike<number>;
}

/**
 * The trained model: per field and level, m (one person), u (other people), the household class's
 * probability, and the weight log2(m/u) of a pair of no household.
 */
export interface TrainedModel {
  fields: { name: string; levels: { level: string; m: number; u: number; household: number; weight: number }[] }[];
  /** Whether households are a class of their own (else pairs are scored against the population's u). */
  households: boolean;
  /** The classes' shares of the blocked pairs, as EM found them. */
  lambda: { match: number; household: number; other: number };
  iterations: number;
  blockedPairs: number;
  /** The blocked pairs EM learnt from (those sharing a narrow key). */
  trainingPairs: number;
  sampledPairs: number;
}

/** One field's part in a pair's match weight. */
export interface Contribution {
  field: string;
  level: string;
  weight: number;
}

export interface ModelLink {
  from: number;
  to: number;
  /** The match weight: log2 odds that the pair is one person (the sum of `explain`'s parts). */
  weight: number;
  probability: number;
}

export interface ModelResult {
  /** Record i's cluster: the smallest record index of its component. */
  clusters: Int32Array;
  links: ModelLink[];
  model: TrainedModel;
  /** Each field's contribution to a pair's weight (the explanation a steward reads). */
  explain: (from: number, to: number) => Contribution[];
  /** "fs 17.3: first name exact +4.1, …": the reason a link is stored with. */
  reason: (from: number, to: number) => string;
  blocks: { compared: number; oversized: number };
}

const MAX_RECORDS = 1 << 23;

/** 52 bits of content hash of a record (two FNV-1a variants), to sample and order records by what they hold. */
function contentHash(r: ModelRecord): number {
  const text = `${r.first}\u001f${r.last}\u001f${r.dob}\u001f${r.zip}\u001f${r.city}\u001f${r.state}\u001f${r.house}\u001f${r.street}\u001f${r.email}\u001f${r.phone}\u001f${r.phone7}\u001f${r.ids.join("\u001e")}`;
  let h1 = 0x811c9dc5,
    h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  return (h1 >>> 0) * 2 ** 20 + ((h2 >>> 0) & 0xfffff);
}

const BROAD = 0x20000000;

/** The blocking keys of a record as 30-bit hashes; the top bit marks a broad key (one value). */
function forEachKey(r: ModelRecord, emit: (hash: number) => void): void {
  const narrow = (tag: string, a: string, b?: string, c?: string) => emit(keyHash(tag, a, b, c) & (BROAD - 1));
  const broad = (tag: string, a: string, b?: string) => emit((keyHash(tag, a, b) & (BROAD - 1)) | BROAD);
  for (const id of r.ids) {
    narrow("i", id);
    // One typo leaves one half of an identifier whole.
    const eq = id.indexOf("="),
      half = (id.length - eq - 1) >> 1;
    if (half >= 3) {
      narrow("i1", id.slice(0, eq + 1 + half));
      narrow("i2", id.slice(0, eq + 1), id.slice(eq + 1 + half));
    }
  }
  if (r.email) narrow("e", r.email);
  if (r.phone7) narrow("7", r.phone7);
  if (r.last) {
    for (const f of r.formals) {
      // Names as a sorted pair: a record with first name and surname swapped shares the key.
      const [x, y] = f < r.last ? [f, r.last] : [r.last, f];
      if (r.zip) narrow("z", x, y, r.zip);
      if (r.dob) narrow("d", x, y, r.dob);
      broad("n", x, y);
    }
    if (r.zip) broad("zl", r.zip, r.lastSound!);
    if (r.dob) narrow("b", r.dob, r.lastSound!);
    broad("l", r.last);
  }
  for (const f of r.formals) {
    if (r.dob) narrow("f", r.dob, f);
    if (r.zip) broad("zf", r.zip, f);
    broad("g", f);
  }
  if (r.house && r.zip) narrow("a", r.zip, r.house);
  if (r.house && r.street) narrow("s", r.house, r.street);
  if (r.dob) broad("dob", r.dob);
  if (r.zip) broad("zip", r.zip);
}

/**
 * The candidate pairs: records sharing a blocking key, each pair once (i < j), sorted. A block
 * over its guard is skipped whole (never "the first 200 records"), so the pairs do not depend on
 * the order of the records.
 */
function blockedPairs(
  records: readonly ModelRecord[],
  options: Required<Pick<ModelOptions, "maxBlock" | "maxBroadBlock">>,
  sources?: ArrayLike<number>,
): { pairs: Float64Array; narrow: Uint8Array; compared: number; oversized: number } {
  let keys = new Float64Array(records.length * 16);
  let n = 0;
  for (let i = 0; i < records.length; i++) {
    forEachKey(records[i]!, (hash) => {
      if (n === keys.length) {
        const grown = new Float64Array(keys.length * 2);
        grown.set(keys);
        keys = grown;
      }
      keys[n++] = hash * MAX_RECORDS + i;
    });
  }
  const sorted = keys.subarray(0, n).sort();
  let pairs = new Float64Array(Math.max(1024, records.length * 8));
  let p = 0,
    compared = 0,
    oversized = 0;
  for (let start = 0; start < n; ) {
    const hash = Math.floor(sorted[start]! / MAX_RECORDS);
    let end = start + 1;
    while (end < n && Math.floor(sorted[end]! / MAX_RECORDS) === hash) end++;
    const size = end - start;
    const guard = hash >= BROAD ? options.maxBroadBlock : options.maxBlock;
    if (size > guard) oversized++;
    else if (size > 1) {
      compared++;
      const need = p + (size * (size - 1)) / 2;
      if (need > pairs.length) {
        const grown = new Float64Array(Math.max(need, pairs.length * 2));
        grown.set(pairs.subarray(0, p));
        pairs = grown;
      }
      for (let x = start; x < end; x++) {
        const i = sorted[x]! % MAX_RECORDS;
        for (let y = x + 1; y < end; y++) {
          const j = sorted[y]! % MAX_RECORDS;
          if (i === j || (sources && sources[i] === sources[j])) continue;
          // The lowest bit: the pair shares a narrow key (EM trains on those pairs only).
          pairs[p++] = (i * MAX_RECORDS + j) * 2 + (hash >= BROAD ? 0 : 1);
        }
      }
    }
    start = end;
  }
  const all = pairs.subarray(0, p).sort();
  const unique = new Float64Array(all.length);
  const narrow = new Uint8Array(all.length);
  let u = 0;
  for (let k = 0; k < all.length; k++) {
    const pair = Math.floor(all[k]! / 2);
    if (u === 0 || unique[u - 1] !== pair) unique[u++] = pair;
    if (all[k]! % 2 === 1) narrow[u - 1] = 1;
  }
  return { pairs: unique.slice(0, u), narrow: narrow.slice(0, u), compared, oversized };
}

/** Counts of each value of the term-frequency fields, and how many records have the field. */
function valueCounts(records: readonly ModelRecord[]): { counts: Map<string, number>[]; present: number[] } {
  const counts = MODEL_FIELDS.map(() => new Map<string, number>());
  const present = MODEL_FIELDS.map(() => 0);
  for (const r of records) {
    for (let k = 0; k < K; k++) {
      const tf = MODEL_FIELDS[k]!.tf;
      if (!tf) continue;
      const v = tf(r);
      if (v === null) continue;
      counts[k]!.set(v, (counts[k]!.get(v) ?? 0) + 1);
      present[k]!++;
    }
  }
  return { counts, present };
}

const clamp = (x: number) => Math.min(1 - 1e-9, Math.max(1e-9, x));

/**
 * u of the population: each level's share among pairs of a sample of records (chosen by content
 * hash), with the exact level of a term-frequency field taken from its values' counts
 * (Σ c(c-1) / n(n-1), every pair of the population).
 */
function populationU(
  records: readonly ModelRecord[],
  hashes: Float64Array,
  sampleSize: number,
  counts: Map<string, number>[],
  present: number[],
  sources?: ArrayLike<number>,
): { u: Float64Array[]; sampled: number } {
  const limit = Math.min(1, sampleSize / Math.max(1, records.length)) * 2 ** 52;
  const sample: number[] = [];
  for (let i = 0; i < records.length; i++) if (hashes[i]! < limit) sample.push(i);
  sample.sort((x, y) => hashes[x]! - hashes[y]!);
  const tallies = MODEL_FIELDS.map((f) => new Float64Array(f.levels.length));
  const levels = new Int8Array(K);
  let sampled = 0;
  for (let x = 0; x < sample.length; x++) {
    for (let y = x + 1; y < sample.length; y++) {
      const i = sample[x]!,
        j = sample[y]!;
      if (sources && sources[i] === sources[j]) continue;
      vector(records[i]!, records[j]!, levels);
      sampled++;
      for (let k = 0; k < K; k++) if (levels[k]! >= 0) tallies[k]![levels[k]!]!++;
    }
  }
  const u = tallies.map((t, k) => {
    const out = new Float64Array(t.length);
    // Half a pair for every level: a level never seen in the sample is rare, not impossible.
    let total = 0;
    for (let l = 0; l < t.length; l++) total += t[l]! + 0.5;
    for (let l = 0; l < t.length; l++) out[l] = (t[l]! + 0.5) / total;
    if (MODEL_FIELDS[k]!.tf && present[k]! > 1) {
      let agree = 0;
      for (const c of counts[k]!.values()) agree += c * (c - 1);
      const exact = clamp(agree / (present[k]! * (present[k]! - 1)));
      const rest = 1 - out[0]!;
      for (let l = 1; l < t.length; l++) out[l] = (out[l]! / rest) * (1 - exact);
      out[0] = exact;
    }
    for (let l = 0; l < t.length; l++) out[l] = clamp(out[l]!);
    return out;
  });
  return { u, sampled };
}

/** The latent classes EM separates: the same person, two people of one household, any other two people. */
const MATCH = 0,
  HOUSEHOLD = 1,
  OTHER = 2;
const CLASSES = 3;
/** Fields a household shares (surname, address, phone): where the household class starts out agreeing. */
const SHARED_AT_HOME = new Set(["surname", "address", "postcode", "city", "state", "house number", "street", "phone"]);
/** The weight of each class's starting point in EM's estimates, in pairs. */
const PRIOR_PAIRS = 20;

/**
 * EM over the blocked pairs' patterns (counts per pattern code, in code order), with three latent
 * classes (Winkler's refinement for data with households): the same person, members of one
 * household (same surname, address, phone; another first name and date of birth), and other
 * people. Two classes would take a household for one person: its members agree on more fields
 * than a person who moved agrees with their old record. Starts from m favouring agreement, the
 * household agreeing where a home is shared, and the others as the population's u.
 */
function expectationMaximization(
  patterns: [number, number][],
  population: readonly Float64Array[],
  iterations: number,
  households: boolean,
): { theta: Float64Array[][]; lambda: Float64Array; iterations: number } {
  const active = households ? WITH_HOUSEHOLDS : WITHOUT_HOUSEHOLDS;
  const agreeing = (L: number) => {
    const out = new Float64Array(L);
    out[0] = 0.85;
    for (let l = 1; l < L; l++) out[l] = (0.15 * (L - l)) / (((L - 1) * L) / 2);
    return out;
  };
  const theta: Float64Array[][] = [
    MODEL_FIELDS.map((f) => agreeing(f.levels.length)),
    MODEL_FIELDS.map((f, k) =>
      SHARED_AT_HOME.has(f.name) ? agreeing(f.levels.length) : Float64Array.from(population[k]!),
    ),
    population.map((x) => Float64Array.from(x)),
  ];
  // Each class's starting point also serves as its prior (PRIOR_PAIRS pairs' worth): a level seen in no pair of a class
  // keeps a small probability instead of none (a weight of ±30 from one unseen level).
  const priors = theta.map((fields) => fields.map((x) => Float64Array.from(x)));
  const lambda = Float64Array.from(households ? [0.1, 0.1, 0.8] : [0.1, 0, 0.9]);
  const decoded = patterns.map(([code]) => {
    const lv = levelsOf(code, new Int8Array(K));
    for (let k = 0; k < K; k++) if (!active[k]) lv[k] = MISSING;
    return lv;
  });
  const post = new Float64Array(CLASSES);
  let it = 0;
  for (; it < iterations; it++) {
    const next = theta.map((fields) => fields.map((x) => new Float64Array(x.length)));
    const mass = new Float64Array(CLASSES);
    let total = 0;
    for (let p = 0; p < patterns.length; p++) {
      const count = patterns[p]![1];
      const lv = decoded[p]!;
      let sum = 0;
      for (let c = 0; c < CLASSES; c++) {
        let pc = lambda[c]!;
        for (let k = 0; k < K; k++) if (lv[k]! >= 0) pc *= theta[c]![k]![lv[k]!]!;
        post[c] = pc;
        sum += pc;
      }
      total += count;
      for (let c = 0; c < CLASSES; c++) {
        const w = sum > 0 ? (count * post[c]!) / sum : c === OTHER ? count : 0;
        mass[c]! += w;
        for (let k = 0; k < K; k++) if (lv[k]! >= 0) next[c]![k]![lv[k]!]! += w;
      }
    }
    let change = 0;
    for (let c = 0; c < CLASSES; c++) {
      if (lambda[c] === 0) continue;
      const l = clamp(mass[c]! / total);
      change = Math.max(change, Math.abs(l - lambda[c]!));
      lambda[c] = l;
      for (let k = 0; k < K; k++) {
        const counts = next[c]![k]!;
        for (let l2 = 0; l2 < counts.length; l2++) counts[l2]! += PRIOR_PAIRS * priors[c]![k]![l2]!;
        const sum = counts.reduce((x, y) => x + y, 0);
        for (let l2 = 0; l2 < counts.length; l2++) {
          const v = clamp(counts[l2]! / sum);
          change = Math.max(change, Math.abs(v - theta[c]![k]![l2]!));
          theta[c]![k]![l2] = v;
        }
      }
    }
    if (change < 1e-5) {
      it++;
      break;
    }
  }
  return { theta, lambda, iterations: it };
}

/**
 * The fields each kind of model reads. With households the address is one field (a household
 * shares all of it and a move changes all of it: as five fields, a move would count five times).
 * Without, its parts are fields of their own: each typo in one part is evidence of its own.
 */
const ADDRESS_PARTS = new Set(["postcode", "city", "state", "house number", "street"]);
const WITH_HOUSEHOLDS = MODEL_FIELDS.map((f) => !ADDRESS_PARTS.has(f.name));
const WITHOUT_HOUSEHOLDS = MODEL_FIELDS.map((f) => f.name !== "address");

const fieldIndex = (name: string) => MODEL_FIELDS.findIndex((f) => f.name === name);
const FIRST_NAME = fieldIndex("first name"),
  SURNAME = fieldIndex("surname"),
  DOB = fieldIndex("date of birth"),
  ADDRESS = fieldIndex("address");

/** A household class: a share of the pairs, agreeing on surname and address, differing in first name and date of birth. */
function isHousehold(theta: readonly Float64Array[], share: number): boolean {
  const last = (x: Float64Array) => x[x.length - 1]!;
  return (
    share >= 0.01 &&
    last(theta[FIRST_NAME]!) > 0.5 &&
    theta[SURNAME]![0]! > 0.5 &&
    theta[ADDRESS]![0]! > 0.5 &&
    last(theta[DOB]!) > 0.5
  );
}

/** The counts of each comparison pattern among the pairs, sorted by code (a sum in code order is the same for any input order). */
function patternCounts(codes: Int32Array, use: Uint8Array): [number, number][] {
  const counts = new Map<number, number>();
  for (let p = 0; p < codes.length; p++) if (use[p] === 1) counts.set(codes[p]!, (counts.get(codes[p]!) ?? 0) + 1);
  return [...counts].sort((a, b) => a[0] - b[0]);
}

const log2 = Math.log2;
const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Trains the model on `records` (unlabelled) and links them: see the comment at the top of this
 * file. Deterministic, and independent of the order of the records.
 */
export function linkRecords(records: readonly ModelRecord[], options: ModelOptions = {}): ModelResult {
  if (records.length >= MAX_RECORDS)
    throw new RangeError(`the model links at most ${MAX_RECORDS - 1} records at once (got ${records.length})`);
  const threshold = options.threshold ?? 0.5;
  if (!(threshold > 0 && threshold < 1)) throw new RangeError(`threshold must be between 0 and 1 (got ${threshold})`);
  const sources = options.sources;
  const hashes = Float64Array.from(records, contentHash);
  const { pairs, narrow, compared, oversized } = blockedPairs(
    records,
    { maxBlock: options.maxBlock ?? 200, maxBroadBlock: options.maxBroadBlock ?? 60 },
    sources,
  );

  // Each pair compared with its records in content order (a comparison need not be symmetric to the last bit).
  const codes = new Int32Array(pairs.length);
  const swapped = new Uint8Array(pairs.length);
  const levels = new Int8Array(K);
  const ordered = (i: number, j: number) =>
    hashes[i]! <= hashes[j]! ? ([records[i]!, records[j]!] as const) : ([records[j]!, records[i]!] as const);
  for (let p = 0; p < pairs.length; p++) {
    const i = Math.floor(pairs[p]! / MAX_RECORDS),
      j = pairs[p]! % MAX_RECORDS;
    const [a, b] = ordered(i, j);
    swapped[p] = vector(a, b, levels) ? 1 : 0;
    codes[p] = codeOf(levels);
  }
  const { counts, present } = valueCounts(records);
  const { u, sampled } = populationU(records, hashes, options.sample ?? 600, counts, present, sources);
  // EM learns from the pairs that share a narrow key (two or three values): pairs that share one value only (a
  // surname) are mostly strangers agreeing on it, and would teach EM a class of "same surname". They are scored.
  const patterns = patternCounts(codes, narrow);
  let trained = 0;
  for (const [, count] of patterns) trained += count;
  let em = expectationMaximization(patterns, u, options.iterations ?? 100, options.households !== false);
  // The third class is kept only when EM found households in it (it shares the home and differs in the person);
  // on data without households it would take part of the matches or of the others instead.
  const households = options.households ?? isHousehold(em.theta[HOUSEHOLD]!, em.lambda[HOUSEHOLD]!);
  if (!households && em.lambda[HOUSEHOLD]! > 0)
    em = expectationMaximization(patterns, u, options.iterations ?? 100, false);
  const theta = em.theta;
  const m = theta[MATCH]!;
  let lambda = em.lambda;
  {
    /*
     * Pairs are scored against the population, as Fellegi and Sunter did: "other people" is u of the
     * population (the sample and the values' counts, not EM's u of the blocked pairs, which agree on
     * their blocking key by construction), and each class's prior is its share among all pairs (EM's
     * share among the pairs it learnt from, every match and every household pair assumed among them).
     */
    let allPairs = (records.length * (records.length - 1)) / 2;
    if (sources) {
      const bySource = new Map<number, number>();
      for (let i = 0; i < records.length; i++) bySource.set(sources[i]!, (bySource.get(sources[i]!) ?? 0) + 1);
      for (const c of bySource.values()) allPairs -= (c * (c - 1)) / 2;
    }
    const share = (c: number) => (lambda[c] === 0 ? 0 : clamp((lambda[c]! * trained) / Math.max(1, allPairs)));
    lambda = Float64Array.from([share(MATCH), share(HOUSEHOLD), 1 - share(MATCH) - share(HOUSEHOLD)]);
    theta[OTHER] = u.map((x) => Float64Array.from(x));
  }
  // log2 of each class's probability of each level.
  const logs = theta.map((fields) => fields.map((x) => Float64Array.from(x, log2)));
  const cut = log2(threshold / (1 - threshold));
  // Σ p² of each term-frequency field: the chance that two records of the population agree on it.
  const agreeByChance = MODEL_FIELDS.map((f, k) => {
    if (!f.tf || present[k]! < 2) return 0;
    let sum = 0;
    for (const c of counts[k]!.values()) sum += (c / present[k]!) ** 2;
    return sum;
  });

  /*
   * An exact agreement on a value of share p is p / Σp² times as likely between other people as an
   * exact agreement on an average value (term frequency): "smith" = "smith" weighs less than
   * "okafor" = "okafor". Only the "other people" class: a household shares its surname whatever it is.
   */
  const tfLog = (k: number, value: string | null) => {
    const c = value === null ? 0 : (counts[k]!.get(value) ?? 0);
    if (c < 2 || agreeByChance[k]! <= 0) return 0;
    return log2(c / present[k]! / agreeByChance[k]!);
  };
  const classLogs = new Float64Array(CLASSES);
  const tfScratch = new Float64Array(K);
  /** The log2 posterior odds of a match, the classes' log-likelihoods left in classLogs and each field's tf term in tfScratch. */
  const active = households ? WITH_HOUSEHOLDS : WITHOUT_HOUSEHOLDS;
  const scoreOf = (a: ModelRecord, b: ModelRecord, code: number, crossed: boolean): number => {
    levelsOf(code, levels);
    for (let k = 0; k < K; k++) if (!active[k]) levels[k] = MISSING;
    for (let k = 0; k < K; k++) {
      const spec = MODEL_FIELDS[k]!;
      tfScratch[k] =
        levels[k] === 0 && spec.tf ? tfLog(k, crossed && k <= 1 ? (k === 0 ? a.first : a.last) : spec.tf(a)) : 0;
    }
    for (let c = 0; c < CLASSES; c++) {
      if (lambda[c] === 0) {
        classLogs[c] = -Infinity;
        continue;
      }
      let l = log2(lambda[c]!);
      for (let k = 0; k < K; k++) {
        if (levels[k]! < 0) continue;
        l += logs[c]![k]![levels[k]!]!;
        if (c === OTHER) l += tfScratch[k]!;
      }
      classLogs[c] = l;
    }
    if (lambda[HOUSEHOLD] === 0) return classLogs[MATCH]! - classLogs[OTHER]!;
    const top = Math.max(classLogs[HOUSEHOLD]!, classLogs[OTHER]!);
    return classLogs[MATCH]! - top - log2(2 ** (classLogs[HOUSEHOLD]! - top) + 2 ** (classLogs[OTHER]! - top));
  };

  const parent = Int32Array.from({ length: records.length }, (_x, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const links: ModelLink[] = [];
  for (let p = 0; p < pairs.length; p++) {
    // With households the classes describe the pairs EM learnt from (narrow keys) only: pairs sharing one value are not scored.
    if (households && narrow[p] === 0) continue;
    const i = Math.floor(pairs[p]! / MAX_RECORDS),
      j = pairs[p]! % MAX_RECORDS;
    const [a, b] = ordered(i, j);
    const w = scoreOf(a, b, codes[p]!, swapped[p] === 1);
    if (w < cut) continue;
    links.push({ from: i, to: j, weight: w, probability: 1 / (1 + 2 ** -w) });
    const ri = find(i),
      rj = find(j);
    // The smaller index becomes the root: a component's root is its smallest record.
    if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj);
  }
  const clusters = new Int32Array(records.length);
  for (let i = 0; i < records.length; i++) clusters[i] = find(i);

  /*
   * The explanation: against the likelier of the two other classes (other people, or a member of
   * the same household), each field's log2(m / u) with its term frequency; the prior odds of the
   * classes; and what the third class takes away. The parts add up to the link's weight.
   */
  const explain = (from: number, to: number): Contribution[] => {
    const [a, b] = ordered(from, to);
    const lv = new Int8Array(K);
    const crossed = vector(a, b, lv);
    const total = scoreOf(a, b, codeOf(lv), crossed);
    const against = classLogs[HOUSEHOLD]! > classLogs[OTHER]! ? HOUSEHOLD : OTHER;
    const out: Contribution[] = [
      {
        field: "prior",
        level: against === HOUSEHOLD ? "a match rather than a household member" : "a match rather than another person",
        weight: log2(lambda[MATCH]! / lambda[against]!),
      },
    ];
    let sum = out[0]!.weight;
    for (let k = 0; k < K; k++) {
      if (levels[k]! < 0) continue;
      const label = MODEL_FIELDS[k]!.levels[levels[k]!]!;
      const weight =
        logs[MATCH]![k]![levels[k]!]! - logs[against]![k]![levels[k]!]! - (against === OTHER ? tfScratch[k]! : 0);
      sum += weight;
      out.push({
        field: MODEL_FIELDS[k]!.name,
        level: crossed && k <= 1 ? `${label} (swapped with ${k === 0 ? "surname" : "first name"})` : label,
        weight,
      });
    }
    if (lambda[HOUSEHOLD]! > 0)
      out.push({
        field: against === HOUSEHOLD ? "other people" : "household",
        level: "the other explanation",
        weight: total - sum,
      });
    return out;
  };
  const reason = (from: number, to: number) => {
    const parts = explain(from, to);
    const total = parts.reduce((x, c) => x + c.weight, 0);
    const against = parts[0]!.level.endsWith("household member") ? "vs household" : "vs others";
    const fields = parts.slice(1).filter((c) => c.level !== "the other explanation");
    return `fs ${round1(total)} (${against}): ${fields.map((c) => `${c.field} ${c.level} ${c.weight >= 0 ? "+" : ""}${round1(c.weight)}`).join(", ")}`;
  };
  const model: TrainedModel = {
    fields: MODEL_FIELDS.map((f, k) => ({
      name: f.name,
      levels: f.levels.map((level, l) => ({
        level,
        m: m[k]![l]!,
        u: theta[OTHER]![k]![l]!,
        household: theta[HOUSEHOLD]![k]![l]!,
        weight: log2(m[k]![l]! / theta[OTHER]![k]![l]!),
      })),
    })),
    lambda: { match: em.lambda[MATCH]!, household: em.lambda[HOUSEHOLD]!, other: em.lambda[OTHER]! },
    households,
    iterations: em.iterations,
    blockedPairs: pairs.length,
    trainingPairs: trained,
    sampledPairs: sampled,
  };
  return { clusters, links, model, explain, reason, blocks: { compared, oversized } };
}
