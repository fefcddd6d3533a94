import { z } from "zod";
import { codegenEnabled, compile } from "../codegen";
import { Imb } from "../imb/index";
import { CHANNEL_WORDS } from "../compliance/channels";

/**
 * Coercers from the raw text of a delimited file to typed values. Every one trims; an empty
 * cell is "missing" (null), which the `required` variants reject. Messages say what was
 * expected, for the reject report.
 */
type Ctx = z.core.$RefinementCtx<string>;

const blankToNull = (v: string) => {
  const t = v.trim();
  return t === "" ? null : t;
};

/** A coercer's answer when "expected …" does not say enough: the value is refused for this reason. */
export class Refusal {
  constructor(readonly message: string) {}
}

/** A rule across fields refused the row: reported against `field` (a field of the row schema). */
export class RowIssue {
  constructor(
    readonly field: string,
    readonly message: string,
  ) {}
}

/** The check and the required flag behind a field's schema (rowSchema compiles them into one function). */
const partsOf = new WeakMap<object, FieldParts>();

/**
 * A field schema from a check: its value, a Refusal saying why not, or undefined ("expected …").
 * `fn` gets the trimmed value and, for fields that must keep it (barcodes), the cell exactly as received.
 */
export function coerce<T>(
  expected: string,
  fn: (v: string, received: string) => T | Refusal | undefined,
  required: boolean,
) {
  const schema = z.string().transform((raw: string, ctx: Ctx): T | null => {
    const v = blankToNull(raw);
    if (v === null) {
      if (required) ctx.addIssue({ code: "custom", message: "required value is missing" });
      return null;
    }
    const out = fn(v, raw);
    if (out === undefined || out instanceof Refusal) {
      ctx.addIssue({ code: "custom", message: out instanceof Refusal ? out.message : `expected ${expected}` });
      return null;
    }
    return out;
  });
  partsOf.set(schema, { fn, required });
  return schema;
}

type FieldSchema = ReturnType<typeof coerce<unknown>>;
export type RowSchema = z.ZodType<Record<string, unknown>, Record<string, string>> & {
  /** The row's fields, in declaration order. */
  fields: readonly string[];
  /** The same rules without zod's issue machinery: the output for a valid row, undefined otherwise (then ask the schema why). */
  fast(input: Record<string, string>): Record<string, unknown> | undefined;
  /**
   * `fast` specialised to one file's column order: takes the record's cells as parsed (field →
   * cell index; a field the file lacks reads as ""), without building an input object per row.
   */
  compile(
    cellOf: Readonly<Record<string, number>>,
    /** Compiled validator (the default unless LEADPIPE_CODEGEN=off) or the plain loop. */
    generated?: boolean,
  ): (cells: readonly string[]) => Record<string, unknown> | undefined;
};

type FieldParts = { fn: (v: string, received: string) => unknown; required: boolean };

/** The compiled validator's work as a plain loop over the fields (LEADPIPE_CODEGEN=off). */
function plainValidator(
  names: readonly string[],
  cells: readonly number[],
  parts: readonly FieldParts[],
  r: Record<string, unknown>,
  toRow: (r: never) => Record<string, unknown> | RowIssue,
): (rec: readonly string[]) => Record<string, unknown> | undefined {
  return (rec) => {
    for (let i = 0; i < names.length; i++) {
      const raw = cells[i]! < 0 ? "" : (rec[cells[i]!] ?? "");
      const t = raw.trim();
      let v: unknown = null;
      if (t === "") {
        if (parts[i]!.required) return undefined;
      } else {
        v = parts[i]!.fn(t, raw);
        if (v === undefined || v instanceof Refusal) return undefined;
      }
      r[names[i]!] = v;
    }
    const out = toRow(r as never);
    if (out instanceof RowIssue) return undefined;
    return out === r ? { ...out } : out;
  };
}

/**
 * A row schema from field schemas and the reshape into target columns. zod is the definition and
 * reports every issue of a bad row; valid rows take the compiled path through the same functions
 * (zod's per-field transforms cost ~13 µs a row, a third of the ingest budget).
 */
export function rowSchema<F extends Record<string, FieldSchema>>(
  fields: F,
  toRow: (r: { [K in keyof F]: z.output<F[K]> }) => Record<string, unknown> | RowIssue,
): RowSchema {
  // A field the file does not carry (a column the partner does not send) reads as blank, as in `compile`.
  const blanks = Object.fromEntries(Object.keys(fields).map((k) => [k, ""]));
  const withBlanks = (input: unknown) => (input && typeof input === "object" ? { ...blanks, ...input } : input);
  const schema = z.preprocess(withBlanks, z.object(fields)).transform((r, ctx) => {
    const out = toRow(r as { [K in keyof F]: z.output<F[K]> });
    if (!(out instanceof RowIssue)) return out;
    ctx.addIssue({ code: "custom", path: [out.field], message: out.message });
    return z.NEVER;
  }) as unknown as RowSchema;
  const names = Object.keys(fields);
  schema.fields = names;
  // Every row's record starts as a copy of this one, so all rows share one object shape.
  const template: Record<string, unknown> = Object.fromEntries(names.map((name) => [name, null]));
  schema.compile = (cellOf, generated = codegenEnabled()) => {
    const cells = names.map((name) => cellOf[name] ?? -1);
    // One record object for every row of the file: each row overwrites every field before
    // toRow reads it (fewer short-lived objects: the chunk processor is allocation-bound).
    const r = { ...template };
    // Compiled for this column order: each field's check is called at a site of its own (a call
    // the engine can inline), its cell read and its value stored under constant keys. A loop over
    // the fields called every check from one site and stored by a varying key: ~10% slower.
    const parts = names.map((name) => partsOf.get(fields[name]!));
    if (parts.some((p) => p === undefined)) throw new Error("rowSchema: a field was not made by coerce()");
    if (!generated)
      return plainValidator(
        names,
        cells,
        parts.map((p) => p!),
        r,
        toRow,
      );
    const body = names.map((name, i) => {
      const cell = cells[i]! < 0 ? '""' : `rec[${cells[i]}]`;
      return `raw = ${cell}; if (raw === undefined) raw = ""; t = raw.trim();
        if (t === "") { ${parts[i]!.required ? "return undefined;" : "v = null;"} }
        else { v = f${i}(t, raw); if (v === undefined || v instanceof Refusal) return undefined; }
        r[${JSON.stringify(name)}] = v;`;
    });
    return compile<(cells: readonly string[]) => Record<string, unknown> | undefined>(
      ["fns", "r", "toRow", "Refusal", "RowIssue"],
      `const [${names.map((_n, i) => `f${i}`).join(", ")}] = fns;
       return function validateRow(rec) {
         let raw, t, v;
         ${body.join("\n")}
         const out = toRow(r);
         if (out instanceof RowIssue) return undefined;
         return out === r ? { ...out } : out;
       };`,
      [parts.map((p) => p!.fn), r, toRow, Refusal, RowIssue],
    );
  };
  const byName = schema.compile(Object.fromEntries(names.map((name, i) => [name, i])));
  schema.fast = (input) => byName(names.map((name) => input[name] ?? ""));
  return schema;
}

/**
 * Runs of whitespace as one space. Most cells have none to collapse: a scan of their character
 * codes finds that without the regular expression, which is then run only on a cell with a tab,
 * a line break, two spaces in a row or a non-ASCII character (some of which are whitespace).
 */
const collapse = (v: string) => {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 33 ? c !== 32 || v.charCodeAt(i + 1) === 32 : c > 126) return v.replace(/\s+/g, " ");
  }
  return v;
};

export const text = (opts: { required?: boolean; max?: number } = {}) =>
  coerce("text", (v) => (v.length <= (opts.max ?? 500) ? collapse(v) : undefined), opts.required ?? false);

/** An identifier: upper-cased, letters, digits, dash, underscore. */
export const identifier = (opts: { required?: boolean } = {}) =>
  coerce(
    "an identifier of letters, digits, '-' or '_' (at most 40)",
    (v) => (/^[A-Za-z0-9_-]{1,40}$/.test(v) ? v.toUpperCase() : undefined),
    opts.required ?? false,
  );

/**
 * How a partner writes numbers: "us" 1,234.56 (the default), "eu" 1.234,56 (also 1 234,56).
 * Either way the value is normalized to plain 1234.56.
 */
export type NumberFormat = "us" | "eu";

function plainNumber(v: string, format: NumberFormat): string {
  return format === "eu"
    ? v.replace(/[.\u00a0 ](?=\d{3}(\D|$))/g, "").replace(",", ".")
    : v.replace(/,(?=\d{3}(\D|$))/g, "");
}

/** Money like 312500, 312,500.00, $312,500.00 (or 312.500,00 € with format "eu"). */
export const money = (opts: { required?: boolean; min?: number; max?: number; format?: NumberFormat } = {}) =>
  coerce(
    opts.format === "eu" ? "an amount like 312.500,00" : "an amount like 312500.00",
    (v) => {
      const s = plainNumber(v.replace(/^[$€]\s*|\s*[$€]$/g, ""), opts.format ?? "us");
      if (!/^-?\d+(\.\d{1,2})?$/.test(s)) return undefined;
      const n = Number(s);
      if (n < (opts.min ?? 0) || n > (opts.max ?? 1e11)) return undefined;
      return s;
    },
    opts.required ?? false,
  );

/** A decimal such as an interest rate, optionally with a trailing %. */
export const decimal = (opts: { required?: boolean; min?: number; max?: number; format?: NumberFormat } = {}) =>
  coerce(
    `a number between ${opts.min ?? 0} and ${opts.max ?? 1e9}`,
    (v) => {
      const s = plainNumber(v.replace(/%$/, "").trim(), opts.format ?? "us");
      if (!/^-?\d+(\.\d+)?$/.test(s)) return undefined;
      const n = Number(s);
      return n >= (opts.min ?? 0) && n <= (opts.max ?? 1e9) ? s : undefined;
    },
    opts.required ?? false,
  );

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A calendar date from its parts (years 1900-2200, Gregorian leap years) as YYYY-MM-DD; undefined when there is no such day. */
export function isoDate(y: number, m: number, d: number): string | undefined {
  if (m < 1 || m > 12 || d < 1 || y < 1900 || y > 2200) return undefined;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (m === 2 && leap ? 29 : DAYS_IN_MONTH[m - 1]!)) return undefined;
  return `${y}-${m < 10 ? "0" : ""}${m}-${d < 10 ? "0" : ""}${d}`;
}

export type DateFormat = "MM/DD/YYYY" | "YYYY-MM-DD" | "DD.MM.YYYY" | "YYYYMMDD";

const DATE_PATTERNS: Record<DateFormat, { re: RegExp; y: number; m: number; d: number }> = {
  "MM/DD/YYYY": { re: /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/, y: 3, m: 1, d: 2 },
  "YYYY-MM-DD": { re: /^(\d{4})-(\d{2})-(\d{2})$/, y: 1, m: 2, d: 3 },
  "DD.MM.YYYY": { re: /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/, y: 3, m: 2, d: 1 },
  YYYYMMDD: { re: /^(\d{4})(\d{2})(\d{2})$/, y: 1, m: 2, d: 3 },
};

/** A calendar date in the partner's declared format, returned as YYYY-MM-DD. */
export const date = (format: DateFormat, opts: { required?: boolean } = {}) => {
  const p = DATE_PATTERNS[format];
  return coerce(
    `a date as ${format}`,
    (v) => {
      const m = p.re.exec(v);
      return m ? isoDate(Number(m[p.y]), Number(m[p.m]), Number(m[p.d])) : undefined;
    },
    opts.required ?? false,
  );
};

export const US_STATES = new Set(
  (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY " +
    "PR VI GU AS MP AA AE AP"
  ).split(" "),
);

export const usState = (opts: { required?: boolean } = {}) =>
  coerce(
    "a two-letter US state code",
    (v) => {
      const s = v.toUpperCase();
      return US_STATES.has(s) ? s : undefined;
    },
    opts.required ?? false,
  );

/** ZIP or ZIP+4 ("12345", "12345-6789", "123456789") → { zip5, zip4 }. */
export const zip = (opts: { required?: boolean } = {}) =>
  coerce(
    "a ZIP code like 12345 or 12345-6789",
    (v) => {
      const m = /^(\d{5})(?:-?(\d{4}))?$/.exec(v);
      return m ? { zip5: m[1]!, zip4: m[2] ?? null } : undefined;
    },
    opts.required ?? false,
  );

export const email = (opts: { required?: boolean } = {}) =>
  coerce(
    "an e-mail address",
    (v) => {
      const s = v.toLowerCase();
      return /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/.test(s) ? s : undefined;
    },
    opts.required ?? false,
  );

/** A phone as written; standardized to E.164 by the people layer. Must hold 10 or 11 digits. */
export const phone = (opts: { required?: boolean } = {}) =>
  coerce(
    "a phone number with 10 digits",
    (v) => {
      const digits = v.replace(/\D/g, "");
      return digits.length === 10 || (digits.length === 11 && digits[0] === "1") ? v : undefined;
    },
    opts.required ?? false,
  );

export const oneOf = <T extends string>(values: readonly T[], opts: { required?: boolean } = {}) => {
  const set = new Set<string>(values);
  return coerce(
    `one of ${values.join(", ")}`,
    (v) => {
      const s = v.toUpperCase();
      return set.has(s) ? (s as T) : undefined;
    },
    opts.required ?? false,
  );
};

/** A channel field: email/e-mail, sms/text, call/phone, mail (any case); its value is the raw word, see channelOf. */
export const channelField = (opts: { required?: boolean } = {}) => oneOf(CHANNEL_WORDS, opts);

/**
 * An Intelligent Mail barcode in any encoding partners send (65 bars, 20/25/29/31 digits):
 * its canonical tracking and routing codes and the cell exactly as received (blanks included,
 * for the audit trail). A barcode that does not decode is refused with the codec's reason ("imb: …").
 */
export const imb = (opts: { required?: boolean } = {}) =>
  coerce(
    "an Intelligent Mail barcode",
    (v, received): { tracking: string; routing: string; raw: string; repaired?: true } | Refusal => {
      const r = Imb.tryParse(v);
      // A repaired barcode is accepted but never silently: it says so.
      return r.ok
        ? {
            tracking: r.tracking,
            routing: r.routing,
            raw: received,
            ...(r.repaired ? { repaired: true as const } : {}),
          }
        : new Refusal(r.error);
    },
    opts.required ?? false,
  );

/**
 * A US phone number in E.164 (+1 and 10 digits): 10 digits, or 11 starting with 1, punctuation
 * ignored; the area code and exchange start with 2-9 (NANP).
 */
export function e164(raw: string): string | undefined {
  const digits = raw.replace(/[\s().+-]/g, "");
  const national = digits.length === 11 && digits[0] === "1" ? digits.slice(1) : digits;
  return /^[2-9]\d{2}[2-9]\d{6}$/.test(national) ? `+1${national}` : undefined;
}

export const phoneE164 = (opts: { required?: boolean } = {}) =>
  coerce("a US phone number with 10 digits (area code and number)", e164, opts.required ?? false);

/**
 * A closed vocabulary written many ways ("Not Interested", "NOT_INTERESTED", "not-interested"):
 * compared lower-cased with runs of spaces, '_' and '-' as one space; returns the canonical term.
 */
export const vocabulary = <T extends string>(
  terms: Readonly<Record<T, readonly string[]>>,
  opts: { required?: boolean } = {},
) => {
  const canonical = new Map<string, T>();
  const norm = (s: string) =>
    s
      .toLowerCase()
      .replace(/[\s_-]+/g, " ")
      .trim();
  for (const [term, spellings] of Object.entries(terms) as [T, readonly string[]][]) {
    for (const s of [term, ...spellings]) canonical.set(norm(s), term);
  }
  return coerce(`one of ${Object.keys(terms).join(", ")}`, (v) => canonical.get(norm(v)), opts.required ?? false);
};

export type TimestampFormat = "ISO" | "MM/DD/YYYY hh:mm" | "DD.MM.YYYY HH:MM";

const TIMESTAMP_PATTERNS: Record<TimestampFormat, RegExp> = {
  // 2026-11-20T14:03, 2026-11-20 14:03:59.123Z, 2026-11-20T14:03:00-06:00
  ISO: /^(?<y>\d{4})-(?<m>\d{2})-(?<d>\d{2})[T ](?<h>\d{2}):(?<mi>\d{2})(?::(?<s>\d{2})(?:\.\d{1,6})?)?(?<z>Z|[+-]\d{2}:?\d{2})?$/i,
  // 11/20/2026 2:03 PM, 11/20/2026 14:03:59
  "MM/DD/YYYY hh:mm":
    /^(?<m>\d{1,2})\/(?<d>\d{1,2})\/(?<y>\d{4})\s+(?<h>\d{1,2}):(?<mi>\d{2})(?::(?<s>\d{2}))?\s*(?<ap>[AP]M)?$/i,
  // 20.11.2026 14:03
  "DD.MM.YYYY HH:MM": /^(?<d>\d{1,2})\.(?<m>\d{1,2})\.(?<y>\d{4})\s+(?<h>\d{1,2}):(?<mi>\d{2})(?::(?<s>\d{2}))?$/,
};

/** A time of day, HH:MM[:SS] (24 h) or h:MM[:SS] AM/PM, as HH:MM:SS. */
export function timeOfDay(h: number, mi: number, s: number, ampm?: string): string | undefined {
  if (ampm) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (ampm.toUpperCase() === "PM" ? 12 : 0);
  }
  if (h > 23 || mi > 59 || s > 59) return undefined;
  return `${String(h).padStart(2, "0")}:${String(mi).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

/**
 * A point in time in the partner's declared format, as PostgreSQL timestamptz input. A time
 * without an offset is local time in `zone` (an IANA name, e.g. "America/Chicago"; default UTC),
 * which PostgreSQL resolves with its daylight-saving rules.
 */
export const timestamp = (format: TimestampFormat, opts: { required?: boolean; zone?: string } = {}) => {
  const re = TIMESTAMP_PATTERNS[format];
  const zone = opts.zone ?? "UTC";
  return coerce(
    `a date and time as ${format}`,
    (v) => {
      const g = re.exec(v)?.groups;
      if (!g) return undefined;
      const day = isoDate(Number(g.y), Number(g.m), Number(g.d));
      const time = timeOfDay(Number(g.h), Number(g.mi), Number(g.s ?? 0), g.ap);
      if (!day || !time) return undefined;
      const z = g.z?.toUpperCase();
      return `${day} ${time}${z === undefined ? ` ${zone}` : z === "Z" ? "+00:00" : z.length === 5 ? `${z.slice(0, 3)}:${z.slice(3)}` : z}`;
    },
    opts.required ?? false,
  );
};

/** A time of day in its own column (the date is in another): HH:MM[:SS] or h:MM AM/PM → HH:MM:SS. */
export const clock = (opts: { required?: boolean } = {}) =>
  coerce(
    "a time like 14:03 or 2:03 PM",
    (v) => {
      const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AP]M)?$/i.exec(v);
      return m ? timeOfDay(Number(m[1]), Number(m[2]), Number(m[3] ?? 0), m[4]) : undefined;
    },
    opts.required ?? false,
  );

/** A code that must match a pattern (e.g. a USPS operation code), upper-cased. */
export const code = (pattern: RegExp, expected: string, opts: { required?: boolean } = {}) =>
  coerce(expected, (v) => (pattern.test(v) ? v.toUpperCase() : undefined), opts.required ?? false);

/**
 * Free text as someone keyed it (never refused: a mistyped value is kept as data) and its
 * normalized form for lookups, null when it cannot be one.
 */
export const keyed = <T>(normalize: (v: string) => T | null, opts: { max?: number } = {}) =>
  coerce("text", (v) => (v.length <= (opts.max ?? 100) ? { raw: collapse(v), value: normalize(v) } : undefined), false);

/** An ISO 8601 date-time (as timestamp("ISO")), or a bare date "2026-11-20" meaning midnight UTC. */
export const dateOrTimestamp = (opts: { required?: boolean } = {}) => {
  const instant = partsOf.get(timestamp("ISO"))!.fn;
  return coerce(
    "an ISO 8601 date or date-time like 2026-11-20 or 2026-11-20T08:30:00Z",
    (v) => {
      const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
      if (day) {
        const d = isoDate(Number(day[1]), Number(day[2]), Number(day[3]));
        return d ? `${d} 00:00:00+00:00` : undefined;
      }
      const t = instant(v, v);
      return typeof t === "string" ? t : undefined;
    },
    opts.required ?? false,
  );
};

const TRUE_WORDS = new Set(["true", "t", "yes", "y", "1"]);
const FALSE_WORDS = new Set(["false", "f", "no", "n", "0"]);

/** A yes/no flag: true/false, t/f, yes/no, y/n, 1/0 (any case). */
export const flag = (opts: { required?: boolean } = {}) =>
  coerce(
    "true or false",
    (v) => {
      const s = v.toLowerCase();
      return TRUE_WORDS.has(s) ? true : FALSE_WORDS.has(s) ? false : undefined;
    },
    opts.required ?? false,
  );

/**
 * A do-not-call registry line: one 10-digit number ("2125550101") or "area code,number"
 * ("212,5550101"). Returned as the 10 digits.
 */
export const registryNumber = (opts: { required?: boolean } = {}) =>
  coerce(
    'a 10-digit number or "area code,number" (e.g. 2125550101 or 212,5550101)',
    (v) => {
      const m = /^(?:(\d{3})\s*,\s*(\d{7})|(\d{10}))$/.exec(v);
      const ten = m ? (m[3] ?? `${m[1]}${m[2]}`) : undefined;
      return ten && /^[2-9]\d{2}[2-9]\d{6}$/.test(ten) ? ten : undefined;
    },
    opts.required ?? false,
  );
