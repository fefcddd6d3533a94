/** A date of birth as YYYY-MM-DD, or null with the reason. */
export interface BirthDate {
  raw: string;
  dob: string | null;
  problem: string | null;
}

const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  sept: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const month = (name: string) => MONTHS[name.toLowerCase().slice(0, name.toLowerCase().startsWith("sept") ? 4 : 3)];

function iso(y: number, m: number, d: number): string | null {
  if (m < 1 || m > 12 || d < 1 || d > 31) return null;
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/**
 * Reads a date of birth written any common way: 1980-01-31, 01/31/1980, 1/31/80, 31.01.1980,
 * 19800131, Jan 31, 1980, 31 January 1980, 1980-01-31T00:00:00Z, or a spreadsheet serial day.
 * Slashes are US order (month first) unless the first number cannot be a month. A two-digit
 * year is in the past (a birth date is never in the future); so is every accepted date, and
 * none is more than 125 years old.
 */
export function standardizeDob(raw: string, today: Date = new Date()): BirthDate {
  // A contact's date is read when its row is validated and again when its record is built: the
  // second read is the first's answer (it depends on the value and on today's UTC date only).
  const day = Math.floor(today.getTime() / 86_400_000);
  if (last?.raw === raw && last.day === day) return last.out;
  // The answer is frozen: every caller with the same value on the same day shares it.
  const out = Object.freeze(readDob(raw, today));
  last = { raw, day, out };
  return out;
}
let last: { raw: string; day: number; out: BirthDate } | undefined;

function readDob(raw: string, today: Date): BirthDate {
  const s = raw.trim();
  const refuse = (problem: string): BirthDate => ({ raw, dob: null, problem });
  if (s === "") return refuse("empty");
  const thisYear = today.getUTCFullYear();
  const year = (y: string) => {
    if (y.length === 4) return Number(y);
    const n = Number(y);
    return n > thisYear % 100 ? 1900 + n : 2000 + n;
  };
  let date: string | null = null;
  let m: RegExpExecArray | null;
  if ((m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(s)))
    date = iso(+m[1]!, +m[2]!, +m[3]!);
  else if ((m = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/.exec(s))) date = iso(+m[1]!, +m[2]!, +m[3]!);
  else if ((m = /^(\d{1,2})[/-](\d{1,2})[/-](\d{4}|\d{2})$/.exec(s))) {
    const a = +m[1]!,
      b = +m[2]!,
      y = year(m[3]!);
    date = a > 12 ? iso(y, b, a) : iso(y, a, b);
  } else if ((m = /^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})$/.exec(s))) date = iso(year(m[3]!), +m[2]!, +m[1]!);
  else if ((m = /^(\d{4})(\d{2})(\d{2})$/.exec(s))) date = iso(+m[1]!, +m[2]!, +m[3]!);
  else if ((m = /^([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/.exec(s)) && month(m[1]!))
    date = iso(+m[3]!, month(m[1]!)!, +m[2]!);
  else if ((m = /^(\d{1,2})(?:st|nd|rd|th)?[\s-]+([A-Za-z]{3,9})\.?,?[\s-]+(\d{4}|\d{2})$/.exec(s)) && month(m[2]!))
    date = iso(year(m[3]!), month(m[2]!)!, +m[1]!);
  else if ((m = /^(\d{4,5})(?:\.0+)?$/.exec(s))) {
    // Spreadsheet serial day (1900 date system, day 25569 = 1970-01-01).
    const d = new Date((Number(m[1]) - 25569) * 86_400_000);
    date = iso(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
  } else return refuse(`not a date: "${s}"`);
  if (!date) return refuse(`not a calendar date: "${s}"`);
  const todayIso = today.toISOString().slice(0, 10);
  if (date > todayIso) return refuse(`a birth date in the future: ${date}`);
  if (Number(date.slice(0, 4)) < thisYear - 125) return refuse(`a birth date more than 125 years ago: ${date}`);
  return { raw, dob: date, problem: null };
}
