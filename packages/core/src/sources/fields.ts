import { z } from "zod";

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

/** The plain function behind a field's schema: value, null (missing, allowed) or INVALID. */
export const INVALID = Symbol("invalid");
export type FastField = (raw: string) => unknown;
const fastOf = new WeakMap<object, FastField>();

function coerce<T>(expected: string, fn: (v: string) => T | undefined, required: boolean) {
  const schema = z.string().transform((raw: string, ctx: Ctx): T | null => {
    const v = blankToNull(raw);
    if (v === null) {
      if (required) ctx.addIssue({ code: "custom", message: "required value is missing" });
      return null;
    }
    const out = fn(v);
    if (out === undefined) {
      ctx.addIssue({ code: "custom", message: `expected ${expected}` });
      return null;
    }
    return out;
  });
  fastOf.set(schema, (raw) => {
    const v = blankToNull(raw);
    if (v === null) return required ? INVALID : null;
    const out = fn(v);
    return out === undefined ? INVALID : out;
  });
  return schema;
}

type FieldSchema = ReturnType<typeof coerce<unknown>>;
export type RowSchema = z.ZodType<Record<string, unknown>, Record<string, string>> & {
  /** The same rules without zod's issue machinery: the output for a valid row, undefined otherwise (then ask the schema why). */
  fast(input: Record<string, string>): Record<string, unknown> | undefined;
  /**
   * `fast` specialised to one file's column order: takes the record's cells as parsed (field →
   * cell index; a field the file lacks reads as ""), without building an input object per row.
   */
  compile(cellOf: Readonly<Record<string, number>>): (cells: readonly string[]) => Record<string, unknown> | undefined;
};

/**
 * A row schema from field schemas and the reshape into target columns. zod is the definition and
 * reports every issue of a bad row; valid rows take the compiled path through the same functions
 * (zod's per-field transforms cost ~13 µs a row, a third of the ingest budget).
 */
export function rowSchema<F extends Record<string, FieldSchema>>(
  fields: F,
  toRow: (r: { [K in keyof F]: z.output<F[K]> }) => Record<string, unknown>,
): RowSchema {
  const schema = z.object(fields).transform((r) => toRow(r as { [K in keyof F]: z.output<F[K]> })) as unknown as RowSchema;
  const names = Object.keys(fields);
  const coercers = names.map((name) => fastOf.get(fields[name]!)!);
  // Every row's record starts as a copy of this one, so all rows share one object shape.
  const template: Record<string, unknown> = Object.fromEntries(names.map((name) => [name, null]));
  schema.compile = (cellOf) => {
    const cells = names.map((name) => cellOf[name] ?? -1);
    return (rec) => {
      const r = { ...template };
      for (let i = 0; i < names.length; i++) {
        const at = cells[i]!;
        const v = coercers[i]!(at < 0 ? "" : rec[at] ?? "");
        if (v === INVALID) return undefined;
        r[names[i]!] = v;
      }
      return toRow(r as { [K in keyof F]: z.output<F[K]> });
    };
  };
  const byName = schema.compile(Object.fromEntries(names.map((name, i) => [name, i])));
  schema.fast = (input) => byName(names.map((name) => input[name] ?? ""));
  return schema;
}

const collapse = (v: string) => v.replace(/\s+/g, " ");

export const text = (opts: { required?: boolean; max?: number } = {}) =>
  coerce("text", (v) => (v.length <= (opts.max ?? 500) ? collapse(v) : undefined), opts.required ?? false);

/** An identifier: upper-cased, letters, digits, dash, underscore. */
export const identifier = (opts: { required?: boolean } = {}) =>
  coerce("an identifier of letters, digits, '-' or '_' (at most 40)", (v) => (/^[A-Za-z0-9_-]{1,40}$/.test(v) ? v.toUpperCase() : undefined), opts.required ?? false);

/** Money like 312500, 312,500.00, $312,500.00. */
export const money = (opts: { required?: boolean; min?: number; max?: number } = {}) =>
  coerce("an amount like 312500.00", (v) => {
    const s = v.replace(/^\$/, "").replace(/,(?=\d{3}(\D|$))/g, "");
    if (!/^-?\d+(\.\d{1,2})?$/.test(s)) return undefined;
    const n = Number(s);
    if (n < (opts.min ?? 0) || n > (opts.max ?? 1e11)) return undefined;
    return s;
  }, opts.required ?? false);

/** A decimal such as an interest rate, optionally with a trailing %. */
export const decimal = (opts: { required?: boolean; min?: number; max?: number } = {}) =>
  coerce(`a number between ${opts.min ?? 0} and ${opts.max ?? 1e9}`, (v) => {
    const s = v.replace(/%$/, "").trim();
    if (!/^-?\d+(\.\d+)?$/.test(s)) return undefined;
    const n = Number(s);
    return n >= (opts.min ?? 0) && n <= (opts.max ?? 1e9) ? s : undefined;
  }, opts.required ?? false);

function isoDate(y: number, m: number, d: number): string | undefined {
  if (m < 1 || m > 12 || d < 1 || y < 1900 || y > 2200) return undefined;
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) return undefined;
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
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
  return coerce(`a date as ${format}`, (v) => {
    const m = p.re.exec(v);
    return m ? isoDate(Number(m[p.y]), Number(m[p.m]), Number(m[p.d])) : undefined;
  }, opts.required ?? false);
};

export const US_STATES = new Set(
  ("AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY " +
    "PR VI GU AS MP AA AE AP").split(" "),
);

export const usState = (opts: { required?: boolean } = {}) =>
  coerce("a two-letter US state code", (v) => {
    const s = v.toUpperCase();
    return US_STATES.has(s) ? s : undefined;
  }, opts.required ?? false);

/** ZIP or ZIP+4 ("12345", "12345-6789", "123456789") → { zip5, zip4 }. */
export const zip = (opts: { required?: boolean } = {}) =>
  coerce("a ZIP code like 12345 or 12345-6789", (v) => {
    const m = /^(\d{5})(?:-?(\d{4}))?$/.exec(v);
    return m ? { zip5: m[1]!, zip4: m[2] ?? null } : undefined;
  }, opts.required ?? false);

export const email = (opts: { required?: boolean } = {}) =>
  coerce("an e-mail address", (v) => {
    const s = v.toLowerCase();
    return /^[^\s@]+@[^\s@]+\.[a-z]{2,}$/.test(s) ? s : undefined;
  }, opts.required ?? false);

/** A phone as written; standardized to E.164 by the people layer. Must hold 10 or 11 digits. */
export const phone = (opts: { required?: boolean } = {}) =>
  coerce("a phone number with 10 digits", (v) => {
    const digits = v.replace(/\D/g, "");
    return digits.length === 10 || (digits.length === 11 && digits[0] === "1") ? v : undefined;
  }, opts.required ?? false);

export const oneOf = <T extends string>(values: readonly T[], opts: { required?: boolean } = {}) => {
  const set = new Set<string>(values);
  return coerce(`one of ${values.join(", ")}`, (v) => {
    const s = v.toUpperCase();
    return set.has(s) ? (s as T) : undefined;
  }, opts.required ?? false);
};
