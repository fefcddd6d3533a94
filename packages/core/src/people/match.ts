import { doubleMetaphone } from "double-metaphone";
import { distance } from "fastest-levenshtein";
import { nameKey } from "./name";
import { formalName, isFormalName, otherFormalNames } from "./nicknames";
import { DIFFERENCE_ODDS, Frequencies } from "./frequencies";
import type { PersonRecord } from "./record";
import { compareDob, mailboxTypo, nameSimilarity, similarNames, transposed } from "./similarity";

/** The part of a standardized record that matching reads, with its comparison keys precomputed. */
export interface MatchProfile {
  first: string | null;
  formal: string | null;
  /** `formal` and the other formal names an ambiguous nickname may stand for ("steve": steven, stephen). */
  formals: readonly string[];
  last: string | null;
  /** Parts of a hyphenated or multi-word surname ("smith-jones" → smith, jones). */
  lastParts: string[];
  lastSound: string | null;
  email: string | null;
  emailLocal: string | null;
  emailDomain: string | null;
  phone: string | null;
  phone7: string | null;
  dob: string | null;
  zip5: string | null;
  city: string | null;
  house: string | null;
  street: string | null;
  ids: string[];
  /** The middle name's initial ("j"): two records whose initials differ are two people (a namesake, a relative). */
  middle: string | null;
  /** The generation a suffix names ("jr" and "ii" are "2", "sr" is "1", "iii" is "3"): father and son differ in it. */
  generation: string | null;
}

export type Tier = "exact" | "strong" | "fuzzy";

/** Why two records are the same person, and how sure we are (0..1). */
export interface Verdict {
  score: number;
  tier: Tier;
  reason: string;
}

/**
 * A record's match profile. Its values that repeat (dates, ZIPs, cities, house numbers, e-mail
 * domains) are interned so that a million profiles in memory share them; `share: false` skips
 * that where the profile does not stay (the standardizing worker sends each value once, by
 * id, and the receiving side shares it: parallel.ts).
 */
export function profileOf(
  r: Pick<
    PersonRecord,
    "first" | "last" | "email" | "phone" | "phone7" | "dob" | "zip5" | "houseNumber" | "streetName" | "ids"
  > & { city?: string | null; middle?: string | null; suffix?: string | null },
  options: { share?: boolean } = {},
): MatchProfile {
  const intern = options.share === false ? asIs : shared;
  const given = r.first ? givenKeys(r.first) : NO_GIVEN;
  const surname = r.last ? surnameKeys(r.last) : NO_SURNAME;
  const email = r.email ? r.email.replace(/\+[^@]*@/, "@") : null;
  const at = email ? email.indexOf("@") : -1;
  return {
    first: given.first,
    formal: given.formal,
    formals: given.formals,
    last: surname.last,
    lastParts: surname.parts,
    lastSound: surname.sound,
    email,
    emailLocal: email ? email.slice(0, at) : null,
    emailDomain: email ? intern(email.slice(at + 1)) : null,
    phone: r.phone,
    phone7: r.phone7,
    dob: intern(r.dob),
    zip5: intern(r.zip5),
    city: intern(r.city ?? null),
    house: intern(r.houseNumber),
    street: r.streetName ? streetKey(r.streetName) : null,
    ids: r.ids.length === 0 ? NO_IDS : r.ids,
    middle: intern(nameKey(r.middle ?? null)?.[0] ?? null),
    generation: generationOf(r.suffix ?? null),
  };
}

/** Suffixes that name a generation, by the generation: a Jr. is the second of the name, as a II is. */
const GENERATIONS: Record<string, string> = { sr: "1", i: "1", jr: "2", ii: "2", iii: "3", iv: "4", v: "5" };

/** The generation a name suffix names ("Jr." → "2"), or null (none, or a degree: "MD", "PhD"). */
export function generationOf(suffix: string | null): string | null {
  if (!suffix) return null;
  for (const word of suffix.toLowerCase().split(/[\s.,]+/)) {
    const g = GENERATIONS[word];
    if (g !== undefined) return g;
  }
  return null;
}

/*
 * A million profiles stay in memory while new records are matched against them: their keys are
 * computed once per distinct name or value and shared (names and ZIPs repeat; a fresh string
 * and array per record was a third of the garbage collector's work). Each cache is bounded.
 */
const CACHE_LIMIT = 200_000;
const NO_IDS: string[] = [];
const NO_GIVEN = { first: null, formal: null, formals: [] as readonly string[] };
const NO_SURNAME = { last: null, parts: [] as string[], sound: null };
const givenCache = new Map<string, { first: string | null; formal: string | null; formals: readonly string[] }>();
const surnameCache = new Map<string, { last: string | null; parts: string[]; sound: string | null }>();
const streetCache = new Map<string, string>();
const interned = new Map<string, string>();

function cached<V>(cache: Map<string, V>, key: string, make: (key: string) => V): V {
  let v = cache.get(key);
  if (v === undefined) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    v = make(key);
    cache.set(key, v);
  }
  return v;
}

function shared(s: string | null): string | null {
  return s === null ? null : cached(interned, s, (k) => k);
}
const asIs = (s: string | null) => s;

const givenKeys = (raw: string) =>
  cached(givenCache, raw, () => {
    const first = nameKey(raw);
    if (first === null) return NO_GIVEN;
    const formal = formalName(first);
    const others = otherFormalNames(first);
    return { first, formal, formals: others.length === 0 ? [formal] : [formal, ...others] };
  });

const surnameKeys = (raw: string) =>
  cached(surnameCache, raw, () => {
    const last = nameKey(raw);
    return {
      last,
      parts: raw
        .split(/[\s-]+/)
        .map(nameKey)
        .filter((p): p is string => p !== null && p.length > 2),
      sound: last ? doubleMetaphone(last)[0] || last : null,
    };
  });

const streetKey = (name: string) => cached(streetCache, name, (n) => n.replace(/[^A-Z0-9]/g, ""));

/**
 * Blocking keys: two records are compared only if one probes a key the other is indexed under (most keys are both:
 * records sharing one are compared). Exact keys (e-mail, phone, identifiers), strong keys (name + ZIP / last 7 phone
 * digits / date of birth) and fuzzy keys that tolerate a typo in one name (house number + ZIP; sound of the surname +
 * date of birth; e-mail domain + sound of the surname + first initial). `role` says which side of a key a record's
 * key is: "index" (the keys it is found by: person_keys), "probe" (the keys it looks up: its candidates).
 */
export function blockKeys(p: MatchProfile, role: "index" | "probe"): string[] {
  return blockKeySides(p)[role];
}

/** Both sides of a record's keys (blockKeys) in one pass: a key of both sides is in both lists, its text made once. */
export function blockKeySides(p: MatchProfile): { index: string[]; probe: string[] } {
  const index: string[] = [],
    probe: string[] = [];
  forEachBlockKey(p, (tag, a, b, c, r = BOTH) => {
    const text = keyText(tag, a, b, c);
    if (r !== PROBE) index.push(text);
    if (r !== INDEX) probe.push(text);
  });
  return { index, probe };
}

/** Whether two records are compared: one probes a key the other is indexed under (blockKeys). */
export function blocksMeet(a: MatchProfile, b: MatchProfile): boolean {
  const [x, y] = [blockKeySides(a), blockKeySides(b)];
  const meets = (probe: string[], index: string[]) => probe.some((k) => index.includes(k));
  return meets(x.probe, y.index) || meets(y.probe, x.index);
}

/** A key's role (forEachBlockKey's fifth argument): compared with the block and joins it (BOTH), only joins it (INDEX: found by the records that probe it), only compared with it (PROBE). */
export const BOTH = 0,
  INDEX = 1,
  PROBE = 2;
type KeyRole = typeof BOTH | typeof INDEX | typeof PROBE;

/** A key hash's role is in its two high bits (keyHash is 30 bits): `hash >>> 30`; `hash & KEY_BITS` is the block's. */
export const KEY_BITS = 0x3fffffff;

/** A blocking key as stored (person_keys): "z:robert|smith|02116". */
export const keyText = (tag: string, a: string, b?: string, c?: string) =>
  `${tag}:${a}${b === undefined ? "" : `|${b}`}${c === undefined ? "" : `|${c}`}`;

type KeyEmitter = (tag: string, a: string, b?: string, c?: string, role?: KeyRole) => void;

/** The keys of a record's contact points and identifiers, each alone. */
function contactKeys(p: MatchProfile, emit: KeyEmitter): void {
  if (p.email) emit("e", p.email);
  // The last 7 digits alone: a typo in either name (mary brwn, raymmond) keeps them. The whole number only where it
  // has no 7 digits to key (a short foreign number): every pair sharing a number shares its last 7 digits.
  if (p.phone7) emit("q", p.phone7);
  else if (p.phone) emit("p", p.phone);
  for (const id of p.ids) emit("i", id);
}

/** Every blocking key of a record as its parts, without building the key's text (the matcher hashes the parts). */
export function forEachBlockKey(p: MatchProfile, emit: KeyEmitter): void {
  contactKeys(p, emit);
  // Once per record, not once per formal name.
  const phoneDigits = p.phone7 && p.last && p.formals.length > 0 ? sortedDigits(p.phone7) : "";
  // Name + phone7 and name + date of birth need no key of their own: q: (phone7) and f: (date of birth + formal
  // name) hold every such pair.
  for (const formal of p.formals) {
    if (p.last) {
      if (p.zip5) emit("z", formal, p.last, p.zip5);
      if (p.phone7) emit("t", formal, p.last, phoneDigits);
    }
    if (p.dob) emit("f", p.dob, formal);
  }
  if (p.house && p.zip5) emit("a", p.zip5, p.house);
  if (p.house && p.street) {
    // The same number and street meet across ZIPs only where a ZIP is missing (sameHome): records with a ZIP are
    // indexed under s: and probe n:, which only records without one are indexed under (a common street's house number
    // recurs in every town: s: alone made hundreds of candidates a record). With both ZIPs, one with two digits
    // swapped (x: sorted digits; the same ZIP meets through a:).
    if (p.zip5) {
      emit("s", p.house, p.street, undefined, INDEX);
      emit("n", p.house, p.street, undefined, PROBE);
      emit("x", p.house, p.street, sortedDigits(p.zip5));
    } else {
      emit("s", p.house, p.street);
      emit("n", p.house, p.street, undefined, INDEX);
    }
  }
  if (p.dob && p.lastSound) emit("b", p.dob, p.lastSound);
  // A mailbox typo changes letters, never digits or separators (sameShape): they narrow the block ("._1970").
  if (p.emailDomain && p.lastSound && p.first)
    emit("m", p.emailDomain, `${p.lastSound}|${p.first[0]!}`, mailboxShape(p.emailLocal!));
}

const NO_HASHES: number[] = [];
let hashSink = NO_HASHES;
const pushHash = (tag: string, a: string, b?: string, c?: string, role: KeyRole = BOTH) => {
  hashSink.push(keyHash(tag, a, b, c) | (role << 30));
};

/**
 * The hashes (keyHash, each with its role in the two high bits) of a record's blocking keys, in forEachBlockKey's order, appended to `out`;
 * returns how many. The standardizing worker computes them beside the profile (parallel.ts), so the
 * matching thread does not.
 */
export function blockKeyHashes(p: MatchProfile, out: number[]): number {
  const before = out.length;
  hashSink = out;
  forEachBlockKey(p, pushHash);
  hashSink = NO_HASHES;
  return out.length - before;
}

/** The text of a record's k-th blocking key (forEachBlockKey's order). */
export function blockKeyText(p: MatchProfile, k: number): string {
  let i = 0,
    text = "";
  forEachBlockKey(p, (tag, a, b, c) => {
    if (i++ === k) text = keyText(tag, a, b, c);
  });
  return text;
}

/** FNV-1a over the key's parts, folded to 30 bits (a small integer: cheap Map keys, no key strings kept). */
export function keyHash(tag: string, a: string, b?: string, c?: string): number {
  let h = mixHash(0x811c9dc5, tag);
  h = mixHash(h, a);
  if (b !== undefined) h = mixHash(h, b);
  if (c !== undefined) h = mixHash(h, c);
  return (h ^ (h >>> 30)) & 0x3fffffff;
}

function mixHash(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ 124, 0x01000193);
}

/** The digits of a number in ascending order: the same for a number with two digits swapped. */
function sortedDigits(d: string): string {
  return d.split("").sort().join("");
}

/** Same given name: equal formal names, or an ambiguous nickname that may stand for the other's. */
function sameGiven(a: MatchProfile, b: MatchProfile): boolean {
  if (a.formal === null || b.formal === null) return false;
  if (a.formal === b.formal) return true;
  return (a.formals.length > 1 || b.formals.length > 1) && a.formals.some((f) => b.formals.includes(f));
}

/** Given names one typo apart (5+ letters), including through a nickname's formal names. */
function givenAlike(a: MatchProfile, b: MatchProfile): boolean {
  if (a.formal !== b.formal && isFormalName(a.formal!) && isFormalName(b.formal!)) return false;
  if (similarNames(a.first!, b.first!, 5)) return true;
  for (const x of a.formals)
    for (const y of b.formals) if (similarNames(x, y, 5) && !(isFormalName(x) && isFormalName(y))) return true;
  return false;
}

const surnameAgrees = (a: MatchProfile, b: MatchProfile) =>
  a.last !== null && b.last !== null && (a.last === b.last || a.lastParts.some((x) => b.lastParts.includes(x)));

/**
 * Mailboxes that differ in their numbers or separators are different mailboxes (mary_johnson5,
 * mary_johnson, mary.johnson), whatever their letters; only a letter typo is the same one.
 */
const mailboxShape = (local: string) => local.replace(/[a-z]/g, "");
const sameShape = (a: string, b: string) => mailboxShape(a) === mailboxShape(b);

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * When a rule rests on how rare the agreeing values are, it links only if fewer than this many
 * records are expected to agree with the pair by chance (see `chance` in `compare`): odds of
 * about 3 to 1 that the pair is one person rather than namesakes. Measured on the synthetic
 * truth at 300k people (docs/people.md): F1 rises from 0.1 to 0.35 and is flat from there to 1;
 * this is the strictest value on the plateau.
 */
export const CHANCE_LIMIT = 0.35;
/** A spelling seen this many times is established: one seen 20 times less often beside it is a typo of it. */
const ESTABLISHED = 20;
/**
 * ... and by at least one record in this many: at a million records a common name's typos are seen hundreds of times
 * each ("jaes", "jmaes": 470 of 1.9M), and two of them are not two names.
 */
const ESTABLISHED_SHARE = 2000;
const established = (freq: Frequencies, count: number) =>
  count >= ESTABLISHED && count * ESTABLISHED_SHARE >= freq.records;

const NO_FREQUENCIES = new Frequencies();

/**
 * Two spellings one typo apart: "typo" when one is established and the other at least 20 times
 * rarer (Lori / Lri), "names" when both are established (Mark / Mary, Hall / Hill), "unknown"
 * when the population is too small to say or neither is established (the rules fall back on the length of the name).
 */
function spellings(freq: Frequencies, kind: "f" | "l", x: string, y: string): "typo" | "names" | "unknown" {
  const cx = freq.countOf(kind, x),
    cy = freq.countOf(kind, y);
  const common = Math.max(cx, cy),
    rare = Math.min(cx, cy);
  if (!established(freq, common)) return "unknown";
  if (rare * ESTABLISHED <= common) return "typo";
  return established(freq, rare) ? "names" : "unknown";
}

/**
 * spellings() of two given names, also through the other's formal names: "jaes" and "jim" are two established
 * spellings (47 and 554 in 190k records), but "jaes" is a typo of "james" (9,036), which "jim" stands for.
 */
function givenSpellings(freq: Frequencies, a: MatchProfile, b: MatchProfile): "typo" | "names" | "unknown" {
  const direct = spellings(freq, "f", a.first!, b.first!);
  if (direct !== "names") return direct;
  const typoOf = (x: string, formals: readonly string[]) =>
    formals.some((y) => y !== x && similarNames(x, y, 3) && spellings(freq, "f", x, y) === "typo");
  return typoOf(a.first!, b.formals) || typoOf(b.first!, a.formals) ? "typo" : "names";
}

/** From this many records, a spelling that is not established is rare (a typo, or a name too rare to weigh). */
const RARE_AMONG = ESTABLISHED * ESTABLISHED_SHARE;
/**
 * Two rare spellings (neither established, in a population of RARE_AMONG records or more) of 5+ letters, two edits
 * apart: two typos of one name ("hannaah", "haneah"). Asked only beside a shared home or landline.
 */
function rareSpellingsNear(freq: Frequencies, x: string, y: string): boolean {
  if (freq.records < RARE_AMONG || Math.max(x.length, y.length) < 5) return false;
  if (established(freq, freq.countOf("f", x)) || established(freq, freq.countOf("f", y))) return false;
  return Math.abs(x.length - y.length) <= 2 && distance(x, y) <= 2;
}

// The shares of the names (the commoner spelling of a name with a typo: the one a namesake would have).
// Functions of their own, not closures in `compare`: it runs for every pair compared.
const givenShare = (freq: Frequencies, a: MatchProfile, b: MatchProfile) =>
  Math.max(freq.share("g", a.formal), freq.share("g", b.formal));
const surnameShare = (freq: Frequencies, a: MatchProfile, b: MatchProfile) =>
  Math.max(freq.share("l", a.last), freq.share("l", b.last));
/**
 * Records expected to agree by chance on the name and a value of the given share, times `differing`: the product of the
 * likelihood ratios of what differs (Frequencies.differences, learnt from the population's anchored pairs; 1 when
 * nothing does).
 */
const chance = (freq: Frequencies, a: MatchProfile, b: MatchProfile, share: number, differing: number) =>
  freq.records * givenShare(freq, a, b) * surnameShare(freq, a, b) * share * differing;
/** At one home or one landline the namesake to fear is a relative: how likely one bears this given name is its share. */
const noNamesakeAtHome = (freq: Frequencies, a: MatchProfile, b: MatchProfile, differing: number) =>
  givenShare(freq, a, b) * differing <= CHANCE_LIMIT;

/**
 * A phone's area code that does not go with the other record's ZIP3 in this population (Frequencies.areaGoesWith),
 * when the two records have no ZIPs or phones to compare directly (namesakes born the same day, one known by a phone
 * and the other by an address) and no area code of either goes with the other's ZIP3.
 */
export function regionDiffers(freq: Frequencies, a: MatchProfile, b: MatchProfile): boolean {
  if ((a.zip5 !== null && b.zip5 !== null) || (a.phone7 !== null && b.phone7 !== null)) return false;
  const x = a.phone !== null && b.zip5 !== null ? freq.areaGoesWith(a.phone, b.zip5) : null;
  const y = b.phone !== null && a.zip5 !== null ? freq.areaGoesWith(b.phone, a.zip5) : null;
  return (x === false && y !== true) || (y === false && x !== true);
}

/** Middle initials, or generations (Jr. / Sr.), that both records have and that differ: a namesake, or father and son. */
export const otherMiddleOrGeneration = (
  a: Pick<MatchProfile, "middle" | "generation">,
  b: Pick<MatchProfile, "middle" | "generation">,
) =>
  (a.middle !== null && b.middle !== null && a.middle !== b.middle) ||
  (a.generation !== null && b.generation !== null && a.generation !== b.generation);

/**
 * The tiered rules the business asked for, first that holds wins:
 * exact — a shared identifier, e-mail or E.164 phone (names must not contradict);
 * strong — same first (nicknames folded) and last name with the same ZIP, last 7 phone digits or
 * date of birth; fuzzy — names alike (a typo each) together with the same house and street, or
 * the same e-mail domain and a near-identical mailbox, or the same date of birth or phone.
 * A different date of birth, middle initial or generation (Jr. / Sr.), or a different value of the same identifier,
 * vetoes every rule.
 *
 * Name agreement is weighed by how common the name is (`freq`, the population's counts): a rule
 * that a namesake could satisfy links only when a namesake is unlikely (`chance`), and contact
 * points that differ make it less likely still (each by its odds, `freq.differences`: learnt from the population's
 * anchored pairs, never below the priors DIFFERENCE_ODDS and EMAIL_DIFFERENCE_ODDS for a mailbox).
 */
export function compare(a: MatchProfile, b: MatchProfile, freq: Frequencies = NO_FREQUENCIES): Verdict | null {
  for (const id of a.ids) {
    const eq = id.indexOf("=");
    const name = id.slice(0, eq + 1);
    const other = b.ids.find((x) => x.startsWith(name));
    if (other === id) return { score: 1, tier: "exact", reason: `exact: identifier ${id.slice(0, eq)}` };
    if (other !== undefined) return null;
  }
  const dob = compareDob(a.dob, b.dob);
  if (dob === "different" || otherMiddleOrGeneration(a, b)) return null;
  const bothFirst = a.first !== null && b.first !== null;
  const firstSame = sameGiven(a, b);
  const initialOnly = bothFirst && Math.min(a.first!.length, b.first!.length) === 1 && a.first![0] === b.first![0];
  // Given names one typo apart: two established names are two people (Mark/Mary); an established one beside a rare
  // spelling is a typo (Lori/Lri), even in a short name. Where the population cannot say, a typo needs 5+ letters for
  // "alike" and 4+ for "close" (enough beside a shared e-mail).
  const firstSpelling = bothFirst && !firstSame && a.first !== b.first ? givenSpellings(freq, a, b) : "unknown";
  const firstAlike =
    firstSame ||
    initialOnly ||
    (bothFirst && firstSpelling !== "names" && givenAlike(a, b)) ||
    (firstSpelling === "typo" && similarNames(a.first!, b.first!, 3));
  const firstClose = firstAlike || (bothFirst && firstSpelling !== "names" && similarNames(a.first!, b.first!, 4));
  const firstConflict = bothFirst && !firstClose;
  // Beside a shared home or landline (and the surname or the date of birth): two typos of one rare name will do.
  const firstNear =
    firstAlike || (bothFirst && firstSpelling !== "names" && rareSpellingsNear(freq, a.first!, b.first!));
  const lastSame = surnameAgrees(a, b);
  const lastAlike =
    lastSame ||
    (a.last !== null &&
      b.last !== null &&
      similarNames(a.last, b.last) &&
      spellings(freq, "l", a.last, b.last) !== "names");
  // The same house: the same number on a street that does not differ (a ZIP of 500 records at a million people holds
  // each house number about once on every street: same number, other street is another house).
  const sameHouse =
    a.house !== null &&
    a.house === b.house &&
    (a.street === null || b.street === null || a.street === b.street || nameSimilarity(a.street, b.street) >= 0.8);
  // The same home: the same house in the same ZIP or, a ZIP missing, the same number and street in a city that does
  // not differ.
  const sameHome =
    sameHouse &&
    ((a.zip5 !== null && a.zip5 === b.zip5) ||
      ((a.zip5 === null || b.zip5 === null) &&
        a.street !== null &&
        a.street === b.street &&
        (a.city === null || b.city === null || a.city === b.city)));

  if (a.email !== null && a.email === b.email && (!firstConflict || lastAlike))
    return { score: 1, tier: "exact", reason: "exact: e-mail" };

  const emailDiffers =
    a.email !== null &&
    b.email !== null &&
    a.email !== b.email &&
    !mailboxTypo(a.emailLocal!, a.emailDomain!, b.emailLocal!, b.emailDomain!);
  const phoneDiffers = a.phone7 !== null && b.phone7 !== null && a.phone7 !== b.phone7;
  // Another home: another ZIP or, a ZIP missing on either side, another house and street or another city.
  const homeDiffers =
    a.zip5 !== null && b.zip5 !== null
      ? a.zip5 !== b.zip5
      : (a.house !== null && b.house !== null && a.street !== null && b.street !== null && !sameHouse) ||
        (a.city !== null && b.city !== null && a.city !== b.city);
  // The likelihood ratios of what differs (1 where nothing does), learnt from the population's anchored pairs
  // (Frequencies.differenceOdds), multiplied into the chance of a coincidence.
  const odds = freq.differences;
  const homeOdds = homeDiffers ? odds.home : 1,
    phoneOdds = phoneDiffers ? odds.phone : 1,
    emailOdds = emailDiffers ? odds.email : 1;

  // A household shares its landline: a phone needs the given name (a typo allowed from 5 letters), and the surname or the home.
  if (
    a.phone !== null &&
    a.phone === b.phone &&
    firstNear &&
    (lastAlike || firstSame || sameHome) &&
    noNamesakeAtHome(freq, a, b, emailOdds)
  ) {
    return { score: 0.97, tier: "exact", reason: "exact: phone" };
  }
  // Contact points both records have and that differ: namesakes in one ZIP, or born the same day, differ in them.
  // A phone's area code that does not go with the other record's ZIP3 (nothing else compares their homes and phones)
  // weighs as another home does.
  const conflicts = homeOdds * phoneOdds * emailOdds * (regionDiffers(freq, a, b) ? odds.home : 1);
  if (firstSame && lastSame) {
    const nick = a.first !== b.first ? " (nickname)" : "";
    if (a.zip5 !== null && a.zip5 === b.zip5 && !(a.house && b.house && a.house !== b.house)) {
      // At the same house a namesake is a relative; with a house missing, anyone of that name in the ZIP.
      const unlikely = sameHouse
        ? noNamesakeAtHome(freq, a, b, phoneOdds * emailOdds)
        : chance(freq, a, b, freq.share("z", a.zip5), conflicts) <= CHANCE_LIMIT;
      if (unlikely) return { score: 0.95, tier: "strong", reason: `strong: first + last + ZIP${nick}` };
    }
    if (a.phone7 !== null && a.phone7 === b.phone7 && noNamesakeAtHome(freq, a, b, emailOdds)) {
      return { score: 0.94, tier: "strong", reason: `strong: first + last + last 7 phone digits${nick}` };
    }
    if (dob === "same" && chance(freq, a, b, freq.share("d", a.dob), conflicts) <= CHANCE_LIMIT)
      return { score: 0.95, tier: "strong", reason: `strong: first + last + date of birth${nick}` };
    if (sameHome && a.street !== null && a.street === b.street && noNamesakeAtHome(freq, a, b, phoneOdds * emailOdds)) {
      return { score: 0.93, tier: "strong", reason: `strong: first + last + street address${nick}` };
    }
  }
  if (firstNear && dob === "same" && (sameHome || (a.phone !== null && a.phone === b.phone))) {
    return {
      score: firstSame ? 0.93 : 0.9,
      tier: "strong",
      reason: `strong: first${firstSame ? "" : " with a typo"} + date of birth + ${sameHome ? "address" : "phone"} (surname differs)`,
    };
  }
  if (
    dob === "same" &&
    firstClose &&
    lastAlike &&
    !(firstSame && lastSame) &&
    chance(freq, a, b, freq.share("d", a.dob), conflicts) <= CHANCE_LIMIT
  ) {
    return {
      score: round(
        0.6 +
          0.3 * round(((bothFirst ? nameSimilarity(a.first!, b.first!) : 0.9) + nameSimilarity(a.last!, b.last!)) / 2),
      ),
      tier: "fuzzy",
      reason: "fuzzy: name with a typo + date of birth",
    };
  }
  // A new surname (marriage) at the same home, with the same given name and nothing else differing: the surname's
  // change counts as one difference, so only a given name rare enough qualifies. The home must be sure: a ZIP or a
  // city on both (a number and street alone recur across cities: ~300 of this rule's 650 false pairs at 1M people).
  if (
    firstSame &&
    sameHome &&
    ((a.zip5 !== null && a.zip5 === b.zip5) || (a.city !== null && b.city !== null)) &&
    a.last !== null &&
    b.last !== null &&
    !lastAlike &&
    noNamesakeAtHome(freq, a, b, DIFFERENCE_ODDS * phoneOdds * emailOdds)
  ) {
    return { score: 0.88, tier: "strong", reason: "strong: first + address (surname differs)" };
  }
  if (!firstAlike || !lastAlike) return null;
  const name = round(
    ((bothFirst ? (firstSame ? 1 : nameSimilarity(a.first!, b.first!)) : 0.9) + nameSimilarity(a.last!, b.last!)) / 2,
  );
  if (sameHome && a.street && b.street && noNamesakeAtHome(freq, a, b, phoneOdds * emailOdds)) {
    const street = round(nameSimilarity(a.street, b.street));
    if (street >= 0.8) {
      // A date of birth with a typo beside it lowers the score, it does not veto.
      return dob === "near"
        ? {
            score: round(0.45 + 0.25 * name + 0.15 * street),
            tier: "fuzzy",
            reason: `fuzzy: name ${name} + address ${street} + date of birth with a typo`,
          }
        : {
            score: round(0.5 + 0.25 * name + 0.15 * street),
            tier: "fuzzy",
            reason: `fuzzy: name ${name} + address ${street}`,
          };
    }
  }
  const zipSame = a.zip5 !== null && a.zip5 === b.zip5,
    phone7Same = a.phone7 !== null && a.phone7 === b.phone7;
  if (
    a.emailDomain !== null &&
    a.emailDomain === b.emailDomain &&
    a.emailLocal &&
    b.emailLocal &&
    sameShape(a.emailLocal, b.emailLocal) &&
    (distance(a.emailLocal, b.emailLocal) <= 1 || transposed(a.emailLocal, b.emailLocal)) &&
    ((firstSame && lastSame) || zipSame || phone7Same || dob === "near")
  ) {
    return {
      score: round(0.5 + 0.3 * name),
      tier: "fuzzy",
      reason: `fuzzy: e-mail domain + mailbox ${round(nameSimilarity(a.emailLocal, b.emailLocal))} + name ${name}`,
    };
  }
  if (phone7Same && noNamesakeAtHome(freq, a, b, emailOdds))
    return { score: round(0.45 + 0.3 * name), tier: "fuzzy", reason: `fuzzy: name ${name} + last 7 phone digits` };
  if (firstSame && lastSame) {
    // Two neighbouring digits swapped by whoever keyed the number (in one area code: another area's look-alike is not).
    if (
      a.phone7 !== null &&
      b.phone7 !== null &&
      transposed(a.phone7, b.phone7) &&
      (a.phone === null || b.phone === null || a.phone.slice(0, -7) === b.phone.slice(0, -7))
    ) {
      return { score: 0.82, tier: "fuzzy", reason: "fuzzy: first + last + phone with two digits swapped" };
    }
    if (
      sameHouse &&
      a.street !== null &&
      a.street === b.street &&
      a.zip5 !== null &&
      b.zip5 !== null &&
      transposed(a.zip5, b.zip5)
    ) {
      return {
        score: 0.82,
        tier: "fuzzy",
        reason: "fuzzy: first + last + street address + ZIP with two digits swapped",
      };
    }
  }
  return null;
}

/** A link between two records of one run (indexes into the matcher), with its verdict. */
export interface Link extends Verdict {
  from: number;
  to: number;
}
