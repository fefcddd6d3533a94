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
  if (a.slice(0, 4) === b.slice(0, 4) && a.slice(5, 7) === b.slice(8, 10) && a.slice(8, 10) === b.slice(5, 7)) return "near";
  return "different";
}
