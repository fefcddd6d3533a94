import { Frequencies } from "./frequencies";
import { ConstrainedParts, conflictedComponents, pairKey, type StrongValues } from "./conflicts";
import {
  blockKeyHashes,
  blockKeyText,
  compare,
  INDEX,
  KEY_BITS,
  type Link,
  type MatchProfile,
  PROBE,
  type Tier,
} from "./match";

export interface MatcherOptions {
  /** A block holding this many records takes no more (a common surname in a big ZIP); default 200. */
  maxBlock?: number;
  /** Pairs never to link (an operator split them), by index. */
  veto?: (a: number, b: number) => boolean;
  /**
   * How common names are in the population (see Frequencies). Given, they are the caller's: it
   * counts the records (a whole batch before matching it, as resolveImport and clusterContacts
   * do) and the matcher only reads them. Left out, the matcher counts each record as it is added.
   */
  frequencies?: Frequencies;
  /**
   * Pages of block runs hold 1 << pageBits entries (default 20), pages of links 1 << (pageBits - 4)
   * rows. A block's run fits in one page, so the block guard is at most half a page (524,288).
   * Small pages are for tests.
   */
  pageBits?: number;
}

/*
 * Why this layout: a million profiles stay in memory while new records are matched against
 * them. As one object per record (plus a Map of ~10 million blocks holding arrays) they made a
 * 4 GB heap that every major garbage collection walked: a quarter of the matcher's time. Here a
 * record is a row of one flat array of references to its values (names, ZIPs, dates and streets
 * are shared strings: profileOf interns them), so a record costs the collector no object of its
 * own and reading a record is one or two cache lines. Blocks are an open-addressing hash table
 * over the keys' 30-bit hashes, each block's members in a run of one typed array (a block of one
 * keeps its member in the table itself). The runs and the links are paged typed arrays: they grow a
 * few megabytes at a time. (One array doubled when full copied 64 MB into 128 MB at two million
 * records, and an outside-the-heap allocation that size makes V8 start a full garbage collection
 * of the whole heap: half a second of the matching thread, whenever the arena happened to double.)
 * A profile is rebuilt for each comparison (a short-lived object the young-generation collector
 * frees almost for nothing), so `compare` keeps its inputs.
 */

/** MatchProfile's fields in row order. */
const FIELDS = [
  "first",
  "formal",
  "formals",
  "last",
  "lastParts",
  "lastSound",
  "email",
  "emailLocal",
  "emailDomain",
  "phone",
  "phone7",
  "dob",
  "zip5",
  "city",
  "house",
  "street",
  "ids",
  "middle",
  "generation",
] as const satisfies readonly (keyof MatchProfile)[];
const WIDTH = FIELDS.length;
const PAGE_BITS = 16;
const PAGE_MASK = (1 << PAGE_BITS) - 1;
type Value = MatchProfile[(typeof FIELDS)[number]];

/** Block runs are kept in pages of 1 << DEFAULT_PAGE_BITS entries (4 MB; a run never spans two), links in pages of 1 << (DEFAULT_PAGE_BITS - 4) rows. */
const DEFAULT_PAGE_BITS = 20;
/** The largest block guard (MatcherOptions.maxBlock) with the default pages: half a page. */
export const MAX_BLOCK_LIMIT = 1 << (DEFAULT_PAGE_BITS - 1);

const grow = (old: Int32Array, length: number): Int32Array<ArrayBuffer> => {
  const next = new Int32Array(length);
  next.set(old);
  return next;
};

const TIERS: readonly Tier[] = ["exact", "strong", "fuzzy"];

/** A profile of no values, its fields in profileOf's order (one object shape for every profile compared). */
const blankProfile = (): MatchProfile => ({
  first: null,
  formal: null,
  formals: [],
  last: null,
  lastParts: [],
  lastSound: null,
  email: null,
  emailLocal: null,
  emailDomain: null,
  phone: null,
  phone7: null,
  dob: null,
  zip5: null,
  city: null,
  house: null,
  street: null,
  ids: [],
  middle: null,
  generation: null,
});

/**
 * Incremental record linkage: add records one at a time; each is compared with the earlier
 * records it meets through a blocking key (blockKeys: one probes a key the other is indexed under; most keys are
 * both), linked where a rule holds, and clusters are the connected components of the links (union-find). Which
 * links exist does not depend on the order records arrive in (every pair that meets is compared once, when the
 * later one arrives: the later one's probe finds the earlier one indexed), so the
 * clusters do not either, as long as no block reaches the guard.
 */
export class Matcher {
  /** Blocks that reached the guard, and how many records they turned away. */
  readonly oversized = new Map<string, number>();
  private readonly maxBlock: number;
  private readonly veto?: (a: number, b: number) => boolean;
  readonly frequencies: Frequencies;
  private readonly countOnAdd: boolean;
  private count = 0;

  /** Record i's profile is pages[i >>> PAGE_BITS][(i & PAGE_MASK) * WIDTH …], in FIELDS order (pages: one array of 30 million would near V8's limit). */
  private readonly pages: Value[][] = [];
  private parent = new Int32Array(1024);
  private seen = new Int32Array(1024);

  private readonly arenaBits: number;
  private readonly arenaMask: number;
  private readonly linkBits: number;
  private readonly linkMask: number;
  // Blocks: slot s of the table is [key hash, start, size, capacity] at s * 4; an empty slot has key -1.
  // A block's members are the arena's entries start … start + size, oldest first, in page start >>> arenaBits; a block
  // of one (capacity 0) keeps its member in `start`.
  private table = new Int32Array(4 << 16).fill(-1);
  private tableMask = (1 << 16) - 1;
  private blockCount = 0;
  private readonly arena: Int32Array[] = [];
  private arenaUsed = 0;

  // Links, one row each in pages of 1 << linkBits: [from, to, tier, reason] in linkRows, the score in linkScores; reasons
  // interned (most repeat).
  private readonly linkRows: Int32Array[] = [];
  private readonly linkScores: Float64Array[] = [];
  private linkCount = 0;
  private readonly reasonIds = new Map<string, number>();
  private readonly reasons: string[] = [];
  /** Joins made by `union` from outside (known links, manual merges): kept whatever the records hold. */
  private readonly forced: number[] = [];
  private readonly keyScratch: number[] = [];
  private readonly scratch: MatchProfile = blankProfile();

  constructor(options: MatcherOptions = {}) {
    this.maxBlock = options.maxBlock ?? 200;
    this.arenaBits = options.pageBits ?? DEFAULT_PAGE_BITS;
    if (!Number.isInteger(this.arenaBits) || this.arenaBits < 5 || this.arenaBits > DEFAULT_PAGE_BITS) {
      throw new RangeError(`pageBits must be a whole number from 5 to ${DEFAULT_PAGE_BITS} (got ${options.pageBits})`);
    }
    this.arenaMask = (1 << this.arenaBits) - 1;
    this.linkBits = this.arenaBits - 4;
    this.linkMask = (1 << this.linkBits) - 1;
    // A run's capacity is under twice the guard (it doubles from 4 while the block is under the guard), and fits in a page.
    const limit = 1 << (this.arenaBits - 1);
    if (!Number.isInteger(this.maxBlock) || this.maxBlock < 1 || this.maxBlock > limit) {
      throw new RangeError(
        `the block guard must be a whole number from 1 to ${limit.toLocaleString("en-US")} (got ${options.maxBlock})`,
      );
    }
    this.veto = options.veto;
    this.frequencies = options.frequencies ?? new Frequencies();
    this.countOnAdd = options.frequencies === undefined;
  }

  get size(): number {
    return this.count;
  }

  /** The profile of record `index`, as it was added. */
  profile(index: number): MatchProfile {
    return this.read(index, blankProfile());
  }

  /** Record `index`'s profile written into `p`. */
  private read(index: number, p: MatchProfile): MatchProfile {
    const r = this.pages[index >>> PAGE_BITS]!,
      o = (index & PAGE_MASK) * WIDTH;
    p.first = r[o] as string | null;
    p.formal = r[o + 1] as string | null;
    p.formals = r[o + 2] as readonly string[];
    p.last = r[o + 3] as string | null;
    p.lastParts = r[o + 4] as string[];
    p.lastSound = r[o + 5] as string | null;
    p.email = r[o + 6] as string | null;
    p.emailLocal = r[o + 7] as string | null;
    p.emailDomain = r[o + 8] as string | null;
    p.phone = r[o + 9] as string | null;
    p.phone7 = r[o + 10] as string | null;
    p.dob = r[o + 11] as string | null;
    p.zip5 = r[o + 12] as string | null;
    p.city = r[o + 13] as string | null;
    p.house = r[o + 14] as string | null;
    p.street = r[o + 15] as string | null;
    p.ids = r[o + 16] as string[];
    p.middle = r[o + 17] as string | null;
    p.generation = r[o + 18] as string | null;
    return p;
  }

  /** Record `index`'s date of birth, identifiers, middle initial and generation (cluster checks: conflicts.ts). */
  private strongValues(index: number): StrongValues {
    const r = this.pages[index >>> PAGE_BITS]!,
      o = (index & PAGE_MASK) * WIDTH;
    return {
      dob: r[o + 11] as string | null,
      ids: r[o + 16] as string[],
      middle: r[o + 17] as string | null,
      generation: r[o + 18] as string | null,
      email: r[o + 6] as string | null,
      phone7: r[o + 10] as string | null,
      zip5: r[o + 12] as string | null,
    };
  }

  /** Every link made so far, oldest first. */
  get links(): Link[] {
    const out: Link[] = new Array(this.linkCount);
    for (let i = 0; i < this.linkCount; i++) out[i] = this.link(i);
    return out;
  }

  private link(i: number): Link {
    const row = this.linkRows[i >>> this.linkBits]!,
      o = (i & this.linkMask) * 4;
    return {
      from: row[o]!,
      to: row[o + 1]!,
      score: this.linkScores[i >>> this.linkBits]![i & this.linkMask]!,
      tier: TIERS[row[o + 2]!]!,
      reason: this.reasons[row[o + 3]!]!,
    };
  }

  /**
   * Adds a record. `compareWithEarlier: false` loads a record whose links are already known
   * (an existing golden record's source): it joins the blocks but is not compared now.
   * Returns its index and the links it made.
   */
  add(profile: MatchProfile, compareWithEarlier = true): { index: number; links: Link[] } {
    const keys = this.keyScratch;
    keys.length = 0;
    const firstLink = this.linkCount;
    const index = this.addKeyed(profile, keys, 0, blockKeyHashes(profile, keys), compareWithEarlier);
    const made: Link[] = [];
    for (let i = firstLink; i < this.linkCount; i++) made.push(this.link(i));
    return { index, links: made };
  }

  /**
   * `add` with the record's blocking keys already hashed: `keys[from … to)` are
   * blockKeyHashes(profile) (the standardizing worker computes them: parallel.ts). Returns the
   * record's index; its links are the last ones of `links`.
   */
  addKeyed(
    profile: MatchProfile,
    keys: ArrayLike<number>,
    from: number,
    to: number,
    compareWithEarlier = true,
  ): number {
    const index = this.count++;
    if (this.countOnAdd) this.frequencies.count(profile);
    if (index >= this.parent.length) {
      this.parent = grow(this.parent, this.parent.length * 2);
      this.seen = grow(this.seen, this.seen.length * 2);
    }
    if ((index & PAGE_MASK) === 0) this.pages.push(new Array<Value>(WIDTH << PAGE_BITS).fill(null));
    const r = this.pages[index >>> PAGE_BITS]!,
      o = (index & PAGE_MASK) * WIDTH;
    r[o] = profile.first;
    r[o + 1] = profile.formal;
    r[o + 2] = profile.formals;
    r[o + 3] = profile.last;
    r[o + 4] = profile.lastParts;
    r[o + 5] = profile.lastSound;
    r[o + 6] = profile.email;
    r[o + 7] = profile.emailLocal;
    r[o + 8] = profile.emailDomain;
    r[o + 9] = profile.phone;
    r[o + 10] = profile.phone7;
    r[o + 11] = profile.dob;
    r[o + 12] = profile.zip5;
    r[o + 13] = profile.city;
    r[o + 14] = profile.house;
    r[o + 15] = profile.street;
    r[o + 16] = profile.ids;
    r[o + 17] = profile.middle;
    r[o + 18] = profile.generation;
    this.parent[index] = index;
    this.seen[index] = -1;
    // Keys are hashed: two keys sharing a hash share a block, which costs comparisons, never a wrong link.
    for (let k = from; k < to; k++) this.join(index, keys[k]!, profile, compareWithEarlier, k - from);
    return index;
  }

  /**
   * Puts record `index` in the block of key hash `key` (its k-th key), compared with the block's members first; a key
   * of role INDEX only puts it in, one of role PROBE only compares it (the role is in the hash's high bits).
   */
  private join(index: number, hash: number, profile: MatchProfile, compareWithEarlier: boolean, k: number): void {
    const role = hash >>> 30;
    // A probe claims no slot: most look for a block that is not there.
    const slot = role === PROBE ? this.existingSlot(hash & KEY_BITS) : this.slotOf(hash & KEY_BITS);
    if (slot < 0) return;
    const t = this.table;
    const size = t[slot + 2]!;
    if (role === INDEX) compareWithEarlier = false;
    if (size === 0) {
      if (role === PROBE) return;
      t[slot + 1] = index;
      t[slot + 2] = 1;
      return;
    }
    // The guard as it always was: a block of one still takes a second record.
    if (size >= 2 && size >= this.maxBlock) {
      const text = blockKeyText(profile, k);
      this.oversized.set(text, (this.oversized.get(text) ?? 0) + 1);
      return;
    }
    const capacity = t[slot + 3]!;
    if (capacity === 0) {
      const only = t[slot + 1]!;
      if (compareWithEarlier) this.consider(index, only, profile);
      if (role === PROBE) return;
      const start = this.allocate(4);
      const page = this.arena[start >>> this.arenaBits]!;
      page[start & this.arenaMask] = only;
      page[(start & this.arenaMask) + 1] = index;
      t[slot + 1] = start;
      t[slot + 2] = 2;
      t[slot + 3] = 4;
      return;
    }
    const start = t[slot + 1]!;
    let page = this.arena[start >>> this.arenaBits]!,
      at = start & this.arenaMask;
    if (compareWithEarlier) for (let i = at; i < at + size; i++) this.consider(index, page[i]!, profile);
    if (role === PROBE) return;
    if (size === capacity) {
      // Moved to a run twice as long (the old run is left unused: at most as much again as the blocks hold).
      const moved = this.allocate(capacity * 2);
      const to = this.arena[moved >>> this.arenaBits]!,
        toAt = moved & this.arenaMask;
      for (let i = 0; i < size; i++) to[toAt + i] = page[at + i]!;
      page = to;
      at = toAt;
      t[slot + 1] = moved;
      t[slot + 3] = capacity * 2;
    }
    page[at + size] = index;
    t[slot + 2] = size + 1;
  }

  private consider(index: number, other: number, profile: MatchProfile): void {
    if (this.seen[other] === index) return;
    this.seen[other] = index;
    if (this.veto?.(index, other)) return;
    // One profile object reused for every comparison (compare keeps nothing of its inputs): an object per compared pair was most of the young generation's garbage.
    const verdict = compare(profile, this.read(other, this.scratch), this.frequencies);
    if (!verdict) return;
    const l = this.linkCount++;
    if ((l & this.linkMask) === 0) {
      this.linkRows.push(new Int32Array(4 << this.linkBits));
      this.linkScores.push(new Float64Array(1 << this.linkBits));
    }
    const row = this.linkRows[l >>> this.linkBits]!,
      o = (l & this.linkMask) * 4;
    row[o] = index;
    row[o + 1] = other;
    row[o + 2] = TIERS.indexOf(verdict.tier);
    this.linkScores[l >>> this.linkBits]![l & this.linkMask] = verdict.score;
    let reason = this.reasonIds.get(verdict.reason);
    if (reason === undefined) {
      reason = this.reasons.push(verdict.reason) - 1;
      this.reasonIds.set(verdict.reason, reason);
    }
    row[o + 3] = reason;
    this.merge(index, other);
  }

  /** The table slot of a key hash (offset into `table`), or -1. */
  private existingSlot(key: number): number {
    for (let i = key & this.tableMask; ; i = (i + 1) & this.tableMask) {
      const k = this.table[i * 4]!;
      if (k === key) return i * 4;
      if (k === -1) return -1;
    }
  }

  /** The table slot of a key hash (offset into `table`), claimed for it when new. */
  private slotOf(key: number): number {
    let i = key & this.tableMask;
    for (;;) {
      const k = this.table[i * 4]!;
      if (k === key) return i * 4;
      if (k === -1) break;
      i = (i + 1) & this.tableMask;
    }
    if ((this.blockCount + 1) * 10 > (this.tableMask + 1) * 7) {
      this.growTable();
      return this.slotOf(key);
    }
    this.blockCount++;
    const o = i * 4;
    this.table[o] = key;
    this.table[o + 2] = 0;
    this.table[o + 3] = 0;
    return o;
  }

  private growTable(): void {
    const old = this.table;
    const slots = (this.tableMask + 1) * 2;
    this.table = new Int32Array(slots * 4).fill(-1);
    this.tableMask = slots - 1;
    for (let o = 0; o < old.length; o += 4) {
      const key = old[o]!;
      if (key === -1) continue;
      let i = key & this.tableMask;
      while (this.table[i * 4] !== -1) i = (i + 1) & this.tableMask;
      this.table.set(old.subarray(o, o + 4), i * 4);
    }
  }

  /** A run of `length` entries in one page of the arena (a new page when the last one has no room left for it). */
  private allocate(length: number): number {
    const page = this.arenaMask + 1;
    let start = this.arenaUsed;
    if ((start & this.arenaMask) + length > page) start = (Math.floor(start / page) + 1) * page;
    if (start + length > 0x7fffffff) throw new RangeError("the matcher's block arena is full (2^31 entries)");
    while (start + length > this.arena.length * page) this.arena.push(new Int32Array(page));
    this.arenaUsed = start + length;
    return start;
  }

  /** Puts two records in one cluster without comparing them (known links, manual merges). */
  union(a: number, b: number): void {
    this.forced.push(a, b);
    this.merge(a, b);
  }

  /**
   * Each record's cluster (the index of its earliest record): the connected components of the links
   * (find), except that a component holding two records that are two people by a strong value (dates
   * of birth that differ by more than a typo, middle initials or generations that differ, another value of one
   * identifier: strongConflict) is
   * rebuilt from its links, strongest first, joining two parts only when no record of one conflicts
   * with a record of the other. Ties are broken by the records' contents, not their indexes, so the
   * clusters do not depend on the order the records were added. Joins made by `union` are kept.
   */
  clusters(): Int32Array {
    const n = this.count;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.find(i);
    const conflicted = conflictedComponents(n, out, (i) => this.strongValues(i));
    if (conflicted.size === 0) return out;
    const links: { from: number; to: number; score: number; key: string }[] = [];
    for (let l = 0; l < this.forced.length; l += 2) {
      if (conflicted.has(out[this.forced[l]!]!))
        links.push({ from: this.forced[l]!, to: this.forced[l + 1]!, score: Number.POSITIVE_INFINITY, key: "" });
    }
    for (let l = 0; l < this.linkCount; l++) {
      const link = this.link(l);
      if (conflicted.has(out[link.from]!))
        links.push({ ...link, key: pairKey(this.profile(link.from), this.profile(link.to)) });
    }
    links.sort((x, y) => y.score - x.score || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    const parts = new ConstrainedParts((i) => this.strongValues(i));
    for (const l of links) parts.join(l.from, l.to, l.score === Number.POSITIVE_INFINITY);
    for (let i = 0; i < n; i++) if (conflicted.has(out[i]!)) out[i] = parts.earliest(i);
    return out;
  }

  private merge(a: number, b: number): void {
    const ra = this.find(a),
      rb = this.find(b);
    if (ra === rb) return;
    // The older record's root stays the root: cluster ids follow the first record.
    if (ra < rb) this.parent[rb] = ra;
    else this.parent[ra] = rb;
  }

  /** The cluster of a record: the index of its cluster's earliest record. */
  find(i: number): number {
    let root = i;
    while (this.parent[root] !== root) root = this.parent[root]!;
    while (this.parent[i] !== root) {
      const next = this.parent[i]!;
      this.parent[i] = root;
      i = next;
    }
    return root;
  }
}
