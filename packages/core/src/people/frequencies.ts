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

import { mailboxTypo } from "./similarity";

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
/**
 * Where each total is kept in `totals` ("#": every record; "#g": records with a given name …; "#az" … "#ae!": the
 * anchored pairs, see ANCHORS).
 */
const TOTAL_KEYS = ["#", "#f", "#g", "#l", "#d", "#z", "#az", "#az!", "#ap", "#ap!", "#ae", "#ae!"] as const;
const TOTAL: Record<CountedKind, number> = { f: 1, g: 2, l: 3, d: 4, z: 5 };
const totalIndex = (key: string) => (TOTAL_KEYS as readonly string[]).indexOf(key);
/** A value key ("#g:robert") names its kind and value; a total ("#g", "#az!") has no colon. */
const isValueKey = (key: string) => key[2] === ":";

/** The part of a match profile that is counted (the contact points: for the anchored pairs). */
export interface CountedValues {
  first: string | null;
  formal: string | null;
  last: string | null;
  dob: string | null;
  zip5: string | null;
  email?: string | null;
  phone?: string | null;
  phone7?: string | null;
}

/** The contact points whose difference between two records weighs against their being one person. */
export type ContactPoint = "home" | "phone" | "email";

/**
 * A contact point both records have and that differs (a move, a new number) is about five times likelier between two
 * people than within one (the likelihood ratio of a disagreement: 1 / its m-probability, u being near 1): each one
 * multiplies the chance that the agreement is a coincidence by five. Measured on the generator's truth (100k people):
 * 26 % of a person's pairs of records with a ZIP on both differ in it, 22 % in the phone (ratios 3.9 and 4.6). What a
 * population says replaces it (Frequencies.differenceOdds); this is what it is before the population says anything.
 */
export const DIFFERENCE_ODDS = 5;
/**
 * A mailbox that differs by more than one edit (not a typo: mailboxTypo) is rarer within a person than a move or a new
 * number: 3.9 % of a person's pairs of e-mails on the generator differ (ratio 25), 0.5 % by more than one edit. A real
 * list's people keep several addresses, so the prior stays at the generator's all-differences figure, not higher.
 */
export const EMAIL_DIFFERENCE_ODDS = 25;

/**
 * Anchored pairs: two records that are one person beyond reasonable doubt by what they share, and so say how often one
 * person's records differ in a contact point (its m-probability of disagreement, learnt from the population instead of
 * a constant measured on one generator). One e-mail and one given name anchor the home (a ZIP on both: "#az", of them
 * differing: "#az!") and the phone (last 7 digits: "#ap", "#ap!"); one phone, given name, surname and date of birth
 * anchor the e-mail ("#ae", "#ae!": differing beyond a typo). On a list where nobody moves, a different ZIP is then
 * near-proof of two people; on one where a quarter of the pairs differ, it weighs about 4 as before.
 *
 * Only the records whose anchoring e-mail or phone falls in one 16th of the hash space are grouped (a sample by
 * content: the same whatever the order of the records, and bounded memory for a list of 15 million).
 */
const ANCHOR_SAMPLE = 16;
/** The totals of the anchored pairs, as stored in person_value_counts. */
export const ANCHOR_KEYS: readonly string[] = TOTAL_KEYS.slice(6);
/** The prior's weight, in anchored pairs: a small list's odds stay near DIFFERENCE_ODDS. */
const ANCHOR_PRIOR_PAIRS = 50;
const ANCHORS: Record<ContactPoint, { pairs: number; prior: number }> = {
  home: { pairs: totalIndex("#az"), prior: DIFFERENCE_ODDS },
  phone: { pairs: totalIndex("#ap"), prior: DIFFERENCE_ODDS },
  email: { pairs: totalIndex("#ae"), prior: EMAIL_DIFFERENCE_ODDS },
};
/** What an anchored pair is compared on: a member of an anchoring group (kept per sampled record, not the whole profile). */
export interface AnchorMember {
  formal: string;
  last: string | null;
  dob: string | null;
  zip5: string | null;
  phone7: string | null;
  email: string | null;
}
/** What anchors a group: its members' e-mail (pairs compared on the home and the phone) or phone (on the e-mail). */
export type AnchorKind = "email" | "phone";
/**
 * Members per anchoring group: a group with more (a shared mailbox or switchboard) anchors nothing at all, whatever
 * the order its records come in.
 */
export const ANCHOR_GROUP_LIMIT = 50;
const NOT_ANCHORED = { email: null, phone: null } as const;

/** FNV-1a of a string: whether its record is in the anchors' sample. */
function sampled(s: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return ((h ^ (h >>> 16)) >>> 0) % ANCHOR_SAMPLE === 0;
}
const emailsDiffer = (x: string, y: string) => {
  if (x === y) return false;
  const ax = x.indexOf("@"),
    ay = y.indexOf("@");
  return !mailboxTypo(x.slice(0, ax), x.slice(ax + 1), y.slice(0, ay), y.slice(ay + 1));
};

/** The counted values of a record, as keys: "#g:robert", "#l:smith", "#d:1970-03-04", "#z:02116" (stored in person_records.counted_keys, summed in person_value_counts). */
export function frequencyKeys(p: CountedValues): string[] {
  const keys: string[] = [];
  if (p.first) keys.push(`#f:${p.first}`);
  if (p.formal) keys.push(`#g:${p.formal}`);
  if (p.last) keys.push(`#l:${p.last}`);
  if (p.dob) keys.push(`#d:${p.dob}`);
  if (p.zip5) keys.push(`#z:${p.zip5}`);
  const region = regionKey(p);
  if (region !== null) keys.push(region);
  return keys;
}

/**
 * A record with a US phone and a ZIP counts its area code beside its ZIP3 ("#r:617|021"): how often an area code goes
 * with a ZIP3 is learnt from the population, as the names are (Frequencies.areaGoesWith). An area code is regional; a
 * person who moves keeps their number (on the generator 93 % of one person's pairs of a phone and a ZIP agree, 3 % of
 * two records taken at random).
 */
export function regionKey(p: Pick<CountedValues, "phone" | "zip5">): string | null {
  const area = p.phone ? areaCode(p.phone) : null;
  return area !== null && p.zip5 ? `#r:${area}|${p.zip5.slice(0, 3)}` : null;
}
/** The area code of a US phone in E.164 ("+16175550100" → "617"); null for another country's. */
const areaCode = (phone: string) => (phone.startsWith("+1") && phone.length === 12 ? phone.slice(2, 5) : null);
/** Records of an area code (with a ZIP) needed before it says which ZIP3s it goes with. */
const AREA_RECORDS = 20;
/** An area code goes with a ZIP3 that holds at least this share of its records with a ZIP (1 in 10). */
const AREA_SHARE = 10;

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
  // Records with a US phone and a ZIP by area code and ZIP3 ("617|021"), and by area code (their sums).
  private readonly regions = new Map<string, { n: number }>();
  private readonly areas = new Map<string, { n: number }>();
  // The sampled records by anchoring e-mail and by anchoring phone (countAnchors); null: the group is past the limit.
  private readonly byEmail = new Map<string, AnchorMember[] | null>();
  private readonly byPhone = new Map<string, AnchorMember[] | null>();
  // differenceOdds of each contact point, kept until the totals change (compare reads them for every pair it compares).
  private odds: Readonly<Record<ContactPoint, number>> | null = null;

  /**
   * Adds a record's values (by = -1 takes them away: a record re-resolved after a newer delivery), and its anchored
   * pairs with the records counted before (countAnchors; they are not taken away: the database keeps the groups'
   * members, resolve.ts countImport).
   */
  count(p: CountedValues, by = 1): void {
    // What frequencyKeys(p) then add(key) would do, without building and slicing each key's text (once per record matched).
    this.totals[0]! += by;
    this.countValue("f", p.first, by);
    this.countValue("g", p.formal, by);
    this.countValue("l", p.last, by);
    this.countValue("d", p.dob, by);
    this.countValue("z", p.zip5, by);
    const region = regionKey(p);
    if (region !== null) this.add(region, by);
    if (by > 0) this.countAnchors(p);
  }

  /**
   * Adds the anchored pairs (ANCHORS) a record makes with the records counted before it: pairs sharing its e-mail and
   * given name, by whether their ZIPs and phones differ; pairs sharing its phone, names and date of birth, by whether
   * their e-mails differ. A group that passes ANCHOR_GROUP_LIMIT members takes its pairs back and counts none after:
   * the totals are those of AnchorTally over the groups' members, the same for any order of the records.
   */
  countAnchors(p: CountedValues): void {
    const { email, phone } = this.anchoring(p);
    if (email === null && phone === null) return;
    this.odds = null;
    const me = anchorMember(p);
    if (email !== null) joinGroup(this.totals, this.byEmail, email, me, tallyByEmail);
    if (phone !== null) joinGroup(this.totals, this.byPhone, phone, me, tallyByPhone);
  }

  /** The e-mail and the phone by which a record is in the anchors' sample (null: it is not, by that one). */
  anchoring(p: CountedValues): { email: string | null; phone: string | null } {
    if (!p.formal) return NOT_ANCHORED;
    const email = p.email && sampled(p.email) ? p.email : null;
    const phone = p.phone && p.last && p.dob && sampled(p.phone) ? p.phone : null;
    return email === null && phone === null ? NOT_ANCHORED : { email, phone };
  }

  /**
   * How many times likelier it is that two records differ in this contact point if they are two people than if they
   * are one: 1 / the share of anchored pairs that differ in it, with a prior of ANCHOR_PRIOR_PAIRS pairs at
   * DIFFERENCE_ODDS (EMAIL_DIFFERENCE_ODDS for an e-mail), and never below that prior. The anchors lean towards the
   * records that moved: a record that moved is on the list because it kept a contact point, and the anchor is one
   * (on the generator's truth, 32 % of the e-mail-anchored pairs with a ZIP on both differ in it, 26 % of all of a
   * person's pairs): they can say a difference is rarer than the prior, not that it is commoner.
   */
  differenceOdds(point: ContactPoint): number {
    const { pairs, prior } = ANCHORS[point];
    return Math.max(
      prior,
      (this.totals[pairs]! + ANCHOR_PRIOR_PAIRS) / (this.totals[pairs + 1]! + ANCHOR_PRIOR_PAIRS / prior),
    );
  }

  /** differenceOdds of the home, the phone and the e-mail. */
  get differences(): Readonly<Record<ContactPoint, number>> {
    this.odds ??= {
      home: this.differenceOdds("home"),
      phone: this.differenceOdds("phone"),
      email: this.differenceOdds("email"),
    };
    return this.odds;
  }

  /**
   * Whether the area code of a US phone (E.164) goes with the ZIP3 of a ZIP in this population: the ZIP3 holds at least
   * 1 in AREA_SHARE of the area code's records with a ZIP. Null when the population cannot say (fewer than
   * AREA_RECORDS such records, or not a US phone).
   */
  areaGoesWith(phone: string, zip5: string): boolean | null {
    const area = areaCode(phone);
    if (area === null) return null;
    const n = this.areas.get(area)?.n ?? 0;
    if (n < AREA_RECORDS) return null;
    return (this.regions.get(`${area}|${zip5.slice(0, 3)}`)?.n ?? 0) * AREA_SHARE >= n;
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
    for (const [value, box] of this.regions) yield [`#r:${value}`, box.n];
  }

  /** A count by key: a value ("#g:robert") or a total ("#g", "#"). */
  get(key: string): number {
    if (key[1] === "r" && isValueKey(key)) return this.regions.get(key.slice(3))?.n ?? 0;
    if (isValueKey(key)) return this.countOf(key[1] as CountedKind, key.slice(3));
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
    this.odds = null;
    if (!isValueKey(key)) {
      const i = totalIndex(key);
      if (i >= 0) this.totals[i]! += n;
      else change(this.otherTotals, key, n);
    } else if (key[1] === "r") {
      changeBox(this.regions, key.slice(3), n);
      changeBox(this.areas, key.slice(3, 6), n);
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

/**
 * The anchored totals of groups of members, as AnchorTally.add them: what the database keeps of each group
 * (person_anchor_members) is counted with the same pairs as Frequencies.countAnchors counts them one record at a time.
 */
export class AnchorTally {
  private readonly totals = new Float64Array(TOTAL_KEYS.length);

  /** Adds (by = -1: takes away) the anchored pairs of one group's members: none past ANCHOR_GROUP_LIMIT. */
  add(kind: AnchorKind, members: readonly AnchorMember[], by = 1): void {
    if (members.length > ANCHOR_GROUP_LIMIT) return;
    const tallyPair = kind === "email" ? tallyByEmail : tallyByPhone;
    for (let i = 1; i < members.length; i++)
      for (let j = 0; j < i; j++) tallyPair(this.totals, members[j]!, members[i]!, by);
  }

  /** The anchored totals (ANCHOR_KEYS), zeros left out. */
  entries(): [string, number][] {
    return ANCHOR_KEYS.map((key) => [key, this.totals[totalIndex(key)]!] as [string, number]).filter(
      ([, n]) => n !== 0,
    );
  }
}

/** What an anchored pair compares of a record (one with a given name: Frequencies.anchoring). */
export function anchorMember(p: CountedValues): AnchorMember {
  return {
    formal: p.formal!,
    last: p.last,
    dob: p.dob,
    zip5: p.zip5,
    phone7: p.phone7 ?? null,
    email: p.email ?? null,
  };
}

type TallyPair = (totals: Float64Array, o: AnchorMember, me: AnchorMember, by: number) => void;

/**
 * `me` joins its group: its pairs with the members before it are tallied; the member past ANCHOR_GROUP_LIMIT takes
 * every pair of the group back and closes it (a shared mailbox or switchboard anchors nothing).
 */
function joinGroup(
  totals: Float64Array,
  groups: Map<string, AnchorMember[] | null>,
  key: string,
  me: AnchorMember,
  tallyPair: TallyPair,
): void {
  const group = groups.get(key);
  if (group === undefined) groups.set(key, [me]);
  else if (group === null) return;
  else if (group.length === ANCHOR_GROUP_LIMIT) {
    for (let i = 1; i < group.length; i++) for (let j = 0; j < i; j++) tallyPair(totals, group[j]!, group[i]!, -1);
    groups.set(key, null);
  } else {
    for (const o of group) tallyPair(totals, o, me, 1);
    group.push(me);
  }
}

/** Two records of one e-mail: with one given name, an anchored pair for the home and the phone. */
function tallyByEmail(totals: Float64Array, o: AnchorMember, me: AnchorMember, by: number): void {
  if (o.formal !== me.formal) return;
  if (o.zip5 !== null && me.zip5 !== null) tally(totals, ANCHORS.home.pairs, o.zip5 !== me.zip5, by);
  if (o.phone7 !== null && me.phone7 !== null) tally(totals, ANCHORS.phone.pairs, o.phone7 !== me.phone7, by);
}

/** Two records of one phone: with one given name, surname and date of birth, an anchored pair for the e-mail. */
function tallyByPhone(totals: Float64Array, o: AnchorMember, me: AnchorMember, by: number): void {
  if (o.formal !== me.formal || o.last !== me.last || o.dob !== me.dob) return;
  if (o.email !== null && me.email !== null) tally(totals, ANCHORS.email.pairs, emailsDiffer(o.email, me.email), by);
}

/** `by` anchored pairs more at `pairs` in the totals, and as many differing more at `pairs + 1` when they differ. */
function tally(totals: Float64Array, pairs: number, differs: boolean, by: number): void {
  totals[pairs]! += by;
  if (differs) totals[pairs + 1]! += by;
}
