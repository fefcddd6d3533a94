/** A personal name parsed into parts, in display case, with the raw text kept. */
export interface Name {
  raw: string;
  prefix: string | null;
  first: string | null;
  middle: string | null;
  last: string | null;
  suffix: string | null;
}

const PREFIXES: Record<string, string> = {
  mr: "Mr.",
  mrs: "Mrs.",
  ms: "Ms.",
  miss: "Miss",
  mx: "Mx.",
  dr: "Dr.",
  prof: "Prof.",
  rev: "Rev.",
  fr: "Fr.",
  hon: "Hon.",
  sir: "Sir",
  capt: "Capt.",
  sgt: "Sgt.",
  lt: "Lt.",
  col: "Col.",
  gen: "Gen.",
};
const SUFFIXES: Record<string, string> = {
  jr: "Jr.",
  sr: "Sr.",
  ii: "II",
  iii: "III",
  iv: "IV",
  v: "V",
  md: "MD",
  phd: "PhD",
  dds: "DDS",
  esq: "Esq.",
  cpa: "CPA",
  rn: "RN",
};
/** Particles that belong to the surname ("van der Berg", "de la Cruz"): kept lower-case, joined to the last name. */
const PARTICLES = new Set([
  "van",
  "von",
  "der",
  "den",
  "de",
  "del",
  "della",
  "da",
  "di",
  "du",
  "la",
  "le",
  "dos",
  "das",
  "ter",
  "ten",
  "bin",
  "al",
  "st",
  "st.",
]);

const token = (t: string) => t.toLowerCase().replace(/[.,]/g, "");

/**
 * Display case for a word written all upper or all lower case: "o'brien" → "O'Brien",
 * "SMITH-JONES" → "Smith-Jones", "mcdonald" → "McDonald". A word already in mixed case is kept
 * as its owner wrote it ("DeShawn", "Van der Berg").
 */
export function nameCase(word: string): string {
  if (word !== word.toUpperCase() && word !== word.toLowerCase()) return word;
  return word
    .toLowerCase()
    .replace(/(^|[\s'’-])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase())
    .replace(/^(Mc)(\p{Ll})/u, (_m, mc: string, ch: string) => mc + ch.toUpperCase());
}

function caseSurname(words: string[]): string {
  // Particles stay lower-case unless the surname is only particles.
  const allParticles = words.every((w) => PARTICLES.has(w.toLowerCase()));
  const asWritten = words.join(" ");
  const mixed = asWritten !== asWritten.toUpperCase() && asWritten !== asWritten.toLowerCase();
  return words
    .map((w, i) => {
      const particle = !allParticles && i < words.length - 1 && PARTICLES.has(w.toLowerCase());
      if (particle) return mixed ? w : w.toLowerCase();
      return nameCase(w);
    })
    .join(" ");
}

/**
 * Parses "First Middle Last", "Last, First Middle", with prefixes (Dr., Mrs.) and suffixes
 * (Jr., III, PhD), surname particles (van der, de la, O'), hyphenated surnames.
 */
export function parseName(raw: string): Name {
  const out: Name = { raw, prefix: null, first: null, middle: null, last: null, suffix: null };
  const text = raw.trim().replace(/\s+/g, " ");
  if (text === "") return out;
  // A suffix after a comma at the end ("Smith, John, Jr." or "John Smith, Jr.").
  const commaParts = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const suffixes: string[] = [];
  while (commaParts.length > 1 && SUFFIXES[token(commaParts.at(-1)!)])
    suffixes.unshift(SUFFIXES[token(commaParts.pop()!)]!);
  let words: string[];
  let lastWords: string[] | null = null;
  if (commaParts.length >= 2) {
    lastWords = commaParts[0]!.split(" ");
    words = commaParts.slice(1).join(" ").split(" ");
  } else {
    words = (commaParts[0] ?? "").split(" ");
  }
  while (words.length > 1 && PREFIXES[token(words[0]!)]) {
    out.prefix = out.prefix ? `${out.prefix} ${PREFIXES[token(words.shift()!)]}` : PREFIXES[token(words.shift()!)]!;
  }
  const tailWords = lastWords ?? words;
  while (tailWords.length > 1 && SUFFIXES[token(tailWords.at(-1)!)])
    suffixes.unshift(SUFFIXES[token(tailWords.pop()!)]!);
  // "Smith, Robert J. Jr.": in the comma form the suffix ends the given names.
  if (lastWords)
    while (words.length > 1 && SUFFIXES[token(words.at(-1)!)]) suffixes.unshift(SUFFIXES[token(words.pop()!)]!);
  if (lastWords === null && words.length > 1) {
    // The surname starts at the first particle after the first name, else it is the last word.
    let start = words.length - 1;
    for (let i = 1; i < words.length - 1; i++) {
      if (PARTICLES.has(words[i]!.toLowerCase())) {
        start = i;
        break;
      }
    }
    lastWords = words.slice(start);
    words = words.slice(0, start);
  }
  if (suffixes.length) out.suffix = suffixes.join(" ");
  if (lastWords) out.last = caseSurname(lastWords);
  if (words.length > 0 && words[0] !== "") {
    out.first = nameCase(words[0]!.replace(/\.$/, ""));
    if (words.length > 1)
      out.middle = words
        .slice(1)
        .map((w) => nameCase(w.replace(/\.$/, "")))
        .join(" ");
  }
  return out;
}

/** Name parts from separate columns; a full-name column fills what they leave empty. */
export function standardizeName(parts: {
  first?: string | null;
  middle?: string | null;
  last?: string | null;
  suffix?: string | null;
  full?: string | null;
}): Name {
  const raw = [parts.first, parts.middle, parts.last, parts.suffix].filter((p) => p && p.trim()).join(" ");
  const fromFull = parts.full && parts.full.trim() ? parseName(parts.full) : null;
  if (!parts.first?.trim() && !parts.last?.trim())
    return fromFull ?? { raw, prefix: null, first: null, middle: null, last: null, suffix: null };
  const first = parts.first?.trim() ? parseName(parts.first.trim()) : null;
  const lastText = parts.last?.trim() ?? "";
  // A surname column may carry a suffix ("Smith Jr.").
  const lastWords = lastText.split(/[\s,]+/).filter(Boolean);
  let suffix = parts.suffix?.trim() ? (SUFFIXES[token(parts.suffix)] ?? parts.suffix.trim()) : null;
  while (lastWords.length > 1 && SUFFIXES[token(lastWords.at(-1)!)]) suffix ??= SUFFIXES[token(lastWords.pop()!)]!;
  return {
    raw: fromFull?.raw ?? raw,
    prefix: first?.prefix ?? fromFull?.prefix ?? null,
    first: first?.first ?? fromFull?.first ?? null,
    middle: parts.middle?.trim()
      ? nameCase(parts.middle.trim().replace(/\.$/, ""))
      : (first?.middle ?? fromFull?.middle ?? null),
    last: lastWords.length ? caseSurname(lastWords) : (fromFull?.last ?? null),
    suffix: suffix ?? fromFull?.suffix ?? null,
  };
}

/** The comparison form of a name part: letters only, no case, no accents ("O'Brien" → "obrien"). */
export function nameKey(part: string | null): string | null {
  if (!part) return null;
  const k = part
    .normalize("NFD")
    .replace(/[^\p{L}]/gu, "")
    .toLowerCase()
    .replace(/[^a-z]/g, "");
  return k === "" ? null : k;
}
