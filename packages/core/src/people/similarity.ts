import { distance } from "fastest-levenshtein";

/**
 * Whether two name keys are the same name with a typo: equal, one adjacent transposition
 * ("mray"/"mary"), or a Levenshtein distance of 1 (names of `minLength`+ letters) or 2 (8+).
 * fastest-levenshtein measured fastest of the maintained edit-distance packages here
 * (docs/people.md).
 */
export function similarNames(a: string, b: string, minLength = 4): boolean {
  if (a === b) return true;
  const max = Math.max(a.length, b.length);
  if (a.length === b.length && max >= 3 && transposed(a, b)) return true;
  if (max < minLength) return false;
  const allowed = max >= 8 ? 2 : 1;
  if (Math.abs(a.length - b.length) > allowed) return false;
  return distance(a, b) <= allowed;
}

/** 0..1: 1 - edit distance / longer length; adjacent transpositions count 0.5. */
export function nameSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  const max = Math.max(a.length, b.length);
  if (max === 0) return 1;
  if (a.length === b.length && transposed(a, b)) return 1 - 0.5 / max;
  return 1 - distance(a, b) / max;
}

/** a and b differ by exactly one swap of neighbouring characters. */
export function transposed(a: string, b: string): boolean {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  if (i >= a.length - 1) return false;
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/** Two dates of birth: the same, a typo (one digit, or day and month swapped), or different. */
export function compareDob(a: string | null, b: string | null): "same" | "near" | "different" | "missing" {
  if (!a || !b) return "missing";
  if (a === b) return "same";
  let diff = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) diff++;
  if (diff === 1 || (a.length === b.length && transposed(a, b))) return "near";
  if (a.slice(0, 4) === b.slice(0, 4) && a.slice(5, 7) === b.slice(8, 10) && a.slice(8, 10) === b.slice(5, 7))
    return "near";
  return "different";
}

// Scratch for jaroWinkler: a position is matched when it holds the call's stamp (no clearing per call).
let matchedA = new Int32Array(64),
  matchedB = new Int32Array(64);
let stamp = 0;

/**
 * Jaro-Winkler similarity (0..1; prefix scale 0.1 over at most 4 characters), the comparison
 * record-linkage models grade names with. Written here rather than taken from a package: it runs
 * for every field of every candidate pair, so it allocates nothing per call.
 */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const la = a.length,
    lb = b.length;
  if (la === 0 || lb === 0) return 0;
  if (la > matchedA.length || lb > matchedB.length) {
    matchedA = new Int32Array(Math.max(la, lb) * 2);
    matchedB = new Int32Array(Math.max(la, lb) * 2);
    stamp = 0;
  }
  if (++stamp === 0x7fffffff) {
    matchedA.fill(0);
    matchedB.fill(0);
    stamp = 1;
  }
  const window = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const from = i > window ? i - window : 0,
      to = Math.min(lb - 1, i + window);
    const c = a.charCodeAt(i);
    for (let j = from; j <= to; j++) {
      if (matchedB[j] !== stamp && b.charCodeAt(j) === c) {
        matchedA[i] = stamp;
        matchedB[j] = stamp;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let half = 0;
  for (let i = 0, j = 0; i < la; i++) {
    if (matchedA[i] !== stamp) continue;
    while (matchedB[j] !== stamp) j++;
    if (a.charCodeAt(i) !== b.charCodeAt(j)) half++;
    j++;
  }
  const jaro = (matches / la + matches / lb + (matches - half / 2) / matches) / 3;
  let prefix = 0;
  while (prefix < 4 && prefix < la && prefix < lb && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/**
 * Damerau-Levenshtein distance (optimal string alignment: an adjacent transposition costs 1),
 * or `max + 1` as soon as it is known to exceed `max` (identifiers with a typo or two).
 */
export function editsWithin(a: string, b: string, max: number): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (a.length === b.length && transposed(a, b)) return 1;
  if (max === 0) return 1;
  const d = distance(a, b);
  if (d <= max || max < 2) return d <= max ? d : max + 1;
  // Levenshtein counts a transposition as two edits: two edits of which one is a transposition need OSA.
  if (d > max * 2) return max + 1;
  const o = osa(a, b);
  return o <= max ? o : max + 1;
}

let osaRows = new Int32Array(3 * 64);

/** Optimal string alignment distance, three rolling rows in one scratch array. */
function osa(a: string, b: string): number {
  const la = a.length,
    lb = b.length,
    w = lb + 1;
  if (osaRows.length < 3 * w) osaRows = new Int32Array(6 * w);
  const r = osaRows;
  // Row i lives at (i % 3) * w.
  for (let j = 0; j <= lb; j++) r[j] = j;
  for (let i = 1; i <= la; i++) {
    const cur = (i % 3) * w,
      prev = ((i - 1) % 3) * w,
      prev2 = ((i + 1) % 3) * w;
    r[cur] = i;
    for (let j = 1; j <= lb; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(r[prev + j]! + 1, r[cur + j - 1]! + 1, r[prev + j - 1]! + cost);
      if (
        i > 1 &&
        j > 1 &&
        a.charCodeAt(i - 1) === b.charCodeAt(j - 2) &&
        a.charCodeAt(i - 2) === b.charCodeAt(j - 1)
      ) {
        v = Math.min(v, r[prev2 + j - 2]! + 1);
      }
      r[cur + j] = v;
    }
  }
  return r[(la % 3) * w + lb]!;
}

/**
 * Two mailboxes of 6+ characters one edit (or two swapped neighbours) apart at one domain: a typo (maryking9923,
 * maryking923) or a namesake's mailbox (mary.johnson, mary.johnson5), evidence neither of two people nor of one. In a
 * shorter mailbox one edit is too much of it (js1, js2).
 */
export const mailboxTypo = (localA: string, domainA: string, localB: string, domainB: string) =>
  domainA === domainB &&
  Math.min(localA.length, localB.length) >= 6 &&
  (distance(localA, localB) <= 1 || transposed(localA, localB));
