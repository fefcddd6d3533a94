import { otherMiddleOrGeneration, type MatchProfile } from "./match";
import { compareDob, mailboxTypo } from "./similarity";

/*
 * Cluster-level checks. `compare` vetoes a pair whose dates of birth differ (more than a typo) or
 * that holds two values of one identifier; but clusters are the connected components of the links,
 * so two such records still end in one cluster through records between them: a James Wilson born in
 * 1961 and one born in 1987, joined by a third record of that name at their house without a date.
 * On the synthetic truth (100k people) refusing such joins removed 40 % of the false pairs for 0.01 %
 * of the true ones (docs/people-model.md).
 */

/** The values that make two records two people when they differ: a date of birth, identifiers, a middle initial, a generation. */
export interface StrongValues {
  dob: string | null;
  ids: readonly string[];
  middle: string | null;
  generation: string | null;
  /** Contact points: two parts that share none and whose mailboxes all differ are two people (Part.conflictsWith). */
  email?: string | null;
  phone7?: string | null;
  zip5?: string | null;
}

/**
 * Two records are two people: their dates of birth differ by more than a typo, their middle initials or generations
 * (Jr. / Sr.) differ, or one identifier has two values.
 */
export function strongConflict(a: StrongValues, b: StrongValues): boolean {
  if (a.dob !== null && b.dob !== null && compareDob(a.dob, b.dob) === "different") return true;
  if (otherMiddleOrGeneration(a, b)) return true;
  for (const id of a.ids) {
    const name = id.slice(0, id.indexOf("=") + 1);
    for (const other of b.ids) if (other !== id && other.startsWith(name)) return true;
  }
  return false;
}

/** The strong values of a part of a cluster, each distinct value once. */
class Part {
  // Distinct values as small arrays, each the shared NONE until its first value (a million parts at a million people).
  dobs = NONE;
  ids = NONE;
  middles = NONE;
  generations = NONE;
  emails = NONE;
  phones = NONE;
  zips = NONE;
  constructor(public earliest: number) {}

  add(v: StrongValues): void {
    if (v.dob !== null) this.dobs = withValue(this.dobs, v.dob);
    for (const id of v.ids) this.ids = withValue(this.ids, id);
    if (v.middle !== null) this.middles = withValue(this.middles, v.middle);
    if (v.generation !== null) this.generations = withValue(this.generations, v.generation);
    if (v.email) this.emails = withValue(this.emails, v.email);
    if (v.phone7) this.phones = withValue(this.phones, v.phone7);
    if (v.zip5) this.zips = withValue(this.zips, v.zip5);
  }

  /**
   * Both parts have dates of birth and none of one agrees with one of the other (the same or a typo apart); or the same
   * for an identifier, a middle initial or a generation; or their mailboxes all differ (beyond a typo: sameMailbox) and
   * so do their phones or their ZIPs: two people (a namesake, a relative at home) whom a name and a date of birth or a
   * home joined.
   */
  conflictsWith(other: Part): boolean {
    if (disjoint(this.middles, other.middles) || disjoint(this.generations, other.generations)) return true;
    if (
      this.emails.length > 0 &&
      other.emails.length > 0 &&
      !agrees(this.emails, other.emails, sameMailbox) &&
      (disjoint(this.phones, other.phones) || disjoint(this.zips, other.zips))
    )
      return true;
    if (
      this.dobs.length > 0 &&
      other.dobs.length > 0 &&
      !agrees(this.dobs, other.dobs, (x, y) => compareDob(x, y) !== "different")
    )
      return true;
    for (const x of this.ids) {
      const name = x.slice(0, x.indexOf("=") + 1);
      const named = (id: string) => id.startsWith(name);
      if (
        !other.ids.includes(x) &&
        other.ids.some(named) &&
        !agrees(this.ids, other.ids, (a, b) => a === b && named(a))
      )
        return true;
    }
    return false;
  }

  /**
   * Whether a record's values clash with any of this part's (strongConflict with one of them), or its mailbox is none
   * of the part's: a component to take apart (conflictsWith decides which of its parts stay apart).
   */
  clashesWith(v: StrongValues): boolean {
    for (const d of this.dobs) if (v.dob !== null && compareDob(d, v.dob) === "different") return true;
    if (v.middle !== null && this.middles.length > 0 && !this.middles.includes(v.middle)) return true;
    if (v.generation !== null && this.generations.length > 0 && !this.generations.includes(v.generation)) return true;
    if (v.email && this.emails.length > 0 && !this.emails.some((e) => sameMailbox(e, v.email!))) return true;
    return strongConflict(
      { dob: null, ids: this.ids, middle: null, generation: null },
      { dob: null, ids: v.ids, middle: null, generation: null },
    );
  }

  absorb(other: Part): void {
    for (const d of other.dobs) this.dobs = withValue(this.dobs, d);
    for (const id of other.ids) this.ids = withValue(this.ids, id);
    for (const m of other.middles) this.middles = withValue(this.middles, m);
    for (const g of other.generations) this.generations = withValue(this.generations, g);
    for (const e of other.emails) this.emails = withValue(this.emails, e);
    for (const p of other.phones) this.phones = withValue(this.phones, p);
    for (const z of other.zips) this.zips = withValue(this.zips, z);
    this.earliest = Math.min(this.earliest, other.earliest);
  }
}

const NONE: readonly string[] = [];
/** `values` with `v` (a new array in place of NONE; unchanged when it holds `v` already). */
function withValue(values: readonly string[], v: string): readonly string[] {
  if (values.includes(v)) return values;
  if (values === NONE) return [v];
  (values as string[]).push(v);
  return values;
}

/** One mailbox, or two that may be one (mailboxTypo: a typo, or a namesake's). */
function sameMailbox(x: string, y: string): boolean {
  if (x === y) return true;
  const ax = x.indexOf("@"),
    ay = y.indexOf("@");
  return mailboxTypo(x.slice(0, ax), x.slice(ax + 1), y.slice(0, ay), y.slice(ay + 1));
}

/** Both hold values and none in common. */
const disjoint = (xs: readonly string[], ys: readonly string[]) =>
  xs.length > 0 && ys.length > 0 && !agrees(xs, ys, (x, y) => x === y);

function agrees<T>(xs: Iterable<T>, ys: Iterable<T>, same: (x: T, y: T) => boolean): boolean {
  for (const x of xs) for (const y of ys) if (same(x, y)) return true;
  return false;
}

/**
 * The components (by root, `roots[i]` being record i's) that hold two records with a strong
 * conflict. Only records with a strong value (StrongValues) are read (`valuesOf`).
 */
export function conflictedComponents(
  n: number,
  roots: ArrayLike<number>,
  valuesOf: (i: number) => StrongValues,
): Set<number> {
  const parts = new Map<number, Part>();
  const conflicted = new Set<number>();
  for (let i = 0; i < n; i++) {
    const v = valuesOf(i);
    if (v.dob === null && v.ids.length === 0 && v.middle === null && v.generation === null && !v.email) continue;
    const root = roots[i]!;
    let part = parts.get(root);
    if (part === undefined) {
      part = new Part(root);
      parts.set(root, part);
    } else if (!conflicted.has(root) && part.clashesWith(v)) conflicted.add(root);
    part.add(v);
  }
  return conflicted;
}

/**
 * A union-find over the records of conflicted components whose parts carry their strong values:
 * `join` refuses two parts that conflict (unless forced: a steward's merge, a known link).
 */
export class ConstrainedParts {
  private readonly parent = new Map<number, number>();
  private readonly parts = new Map<number, Part>();

  constructor(private readonly valuesOf: (i: number) => StrongValues) {}

  private root(i: number): number {
    let r = i;
    for (let p = this.parent.get(r); p !== undefined && p !== r; p = this.parent.get(r)) r = p;
    for (let p = this.parent.get(i); p !== undefined && p !== r; p = this.parent.get(i)) {
      this.parent.set(i, r);
      i = p;
    }
    return r;
  }

  private partOf(root: number): Part {
    let part = this.parts.get(root);
    if (part === undefined) {
      part = new Part(root);
      part.add(this.valuesOf(root));
      this.parts.set(root, part);
      this.parent.set(root, root);
    }
    return part;
  }

  /** Joins the parts of a and b unless they conflict (`force` joins them anyway); true if they are one part after. */
  join(a: number, b: number, force = false): boolean {
    const ra = this.root(a),
      rb = this.root(b);
    if (ra === rb) return true;
    const pa = this.partOf(ra),
      pb = this.partOf(rb);
    if (!force && pa.conflictsWith(pb)) return false;
    this.parent.set(rb, ra);
    pa.absorb(pb);
    this.parts.delete(rb);
    return true;
  }

  /** The earliest record of i's part. */
  earliest(i: number): number {
    return this.parts.get(this.root(i))?.earliest ?? i;
  }
}

/** A pair of records by their contents (the same for either order, whatever their indexes): ties among links are broken by it. */
export function pairKey(a: MatchProfile, b: MatchProfile): string {
  const x = contentKey(a),
    y = contentKey(b);
  return x < y ? `${x}\u0001${y}` : `${y}\u0001${x}`;
}

const contentKey = (p: MatchProfile) =>
  [
    p.first,
    p.last,
    p.dob,
    p.zip5,
    p.city,
    p.house,
    p.street,
    p.phone,
    p.email,
    p.ids.join(","),
    p.middle,
    p.generation,
  ].join("\u0000");
