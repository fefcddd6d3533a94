/**
 * Casting legacy values to text that never loses a value silently. Every value travels as text:
 * integers of any width as their digits, DECIMAL as written, DATETIME converted from the
 * declared source time zone to UTC. A value that cannot be kept as is becomes NULL with its raw
 * text kept in the row's flags (zero and impossible dates), is repaired when the repair is
 * certain (latin1 read as UTF-8), or refuses the whole row (it goes to the quarantine verbatim).
 */

/** The kinds of column a reader reports; anything else is text. */
export type ColumnKind =
  | "integer"
  | "decimal"
  | "float"
  | "date"
  | "datetime"
  | "timestamp"
  | "text"
  | "binary"
  | "boolean";

export interface LegacyColumn {
  name: string;
  kind: ColumnKind;
  /** The type as the source declares it (e.g. "bigint unsigned"), for the dry-run listing. */
  declared: string;
}

export interface CastOptions {
  /** IANA zone of the source's DATETIME values (TIMESTAMP values are already UTC when read). */
  timeZone: string;
}

export interface Flag {
  raw: string;
  reason: string;
}

export type CastRow =
  | { ok: true; values: Record<string, string | null>; flags: Record<string, Flag> }
  | { ok: false; reason: string };

/** Refuses the row: the value cannot be kept faithfully. */
export class CastRefusal extends Error {}

/** "JosÃ©" (the UTF-8 bytes of "José" read as latin1): the pattern of a UTF-8 lead byte and a continuation byte. */
const MOJIBAKE = /[\u00c2-\u00f4][\u0080-\u00bf]/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Text as it should read. Invalid bytes (U+FFFD from the decoder) refuse the row; text that
 * looks like UTF-8 read as latin1 is decoded again when every character fits in a byte and the
 * bytes are valid UTF-8 (certain); when they are not, the row is refused rather than guessed at.
 */
export function repairText(s: string): string {
  if (s.includes("\ufffd")) throw new CastRefusal("invalid bytes in the text (U+FFFD)");
  if (!MOJIBAKE.test(s)) return s;
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u00ff]/.test(s))
    throw new CastRefusal(`text looks like latin1-read UTF-8 but mixes other characters: ${JSON.stringify(s)}`);
  try {
    return strictUtf8.decode(Buffer.from(s, "latin1"));
  } catch {
    throw new CastRefusal(`text looks like latin1-read UTF-8 but its bytes are not UTF-8: ${JSON.stringify(s)}`);
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?$/;

function validDate(y: number, m: number, d: number): boolean {
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

/**
 * One formatter per zone: building an Intl.DateTimeFormat costs about a millisecond (ICU loads the
 * zone), which per DATETIME value made casting 1.3 ms a row (the migration's slowest stage).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterOf(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(zone, f);
  }
  return f;
}

const UTC_ZONES = new Set(["UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z"]);

/** The UTC offset (ms) of a zone at a UTC instant, as ICU computes it. */
function zoneOffset(zone: string, utcMs: number): number {
  const parts = formatterOf(zone).formatToParts(new Date(utcMs));
  const n = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return (
    Date.UTC(n("year"), n("month") - 1, n("day"), n("hour"), n("minute"), n("second")) - Math.floor(utcMs / 1000) * 1000
  );
}

const QUARTER_HOUR = 900_000;
/** zone|quarter-hour → its offset when the same at both ends of the quarter (null: a transition inside it). */
const offsets = new Map<string, number | null>();

/**
 * The UTC offset (ms) of a zone at a UTC instant. Offsets change at most once in a quarter hour, so a
 * quarter with the same offset at both ends has it throughout and is cached; one with a transition
 * inside is computed per value.
 */
function offsetAt(zone: string, utcMs: number): number {
  if (UTC_ZONES.has(zone)) return 0;
  const quarter = Math.floor(utcMs / QUARTER_HOUR);
  const key = `${zone}|${quarter}`;
  let cached = offsets.get(key);
  if (cached === undefined) {
    const start = zoneOffset(zone, quarter * QUARTER_HOUR);
    cached = start === zoneOffset(zone, (quarter + 1) * QUARTER_HOUR - 1000) ? start : null;
    if (offsets.size >= 200_000) offsets.clear();
    offsets.set(key, cached);
  }
  return cached ?? zoneOffset(zone, utcMs);
}

/** A wall-clock time in `zone` as an ISO UTC instant (the earlier instant when the clock repeats). */
export function zonedToUtc(wall: string, zone: string): string {
  const m = DATETIME.exec(wall)!;
  const frac = m[7] ?? "";
  const asUtc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  let utc = asUtc - offsetAt(zone, asUtc);
  utc = asUtc - offsetAt(zone, utc);
  return new Date(utc).toISOString().slice(0, 19) + frac + "Z";
}

/** Checks a time zone name once, with a clear error. */
export function checkTimeZone(zone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    throw new Error(`unknown time zone "${zone}" (an IANA name such as America/New_York or UTC)`);
  }
}

/** One value as text, or null with a flag, or a CastRefusal. */
export function castValue(
  value: unknown,
  column: LegacyColumn,
  opts: CastOptions,
): { value: string | null; flag?: Flag } {
  if (value === null || value === undefined) return { value: null };
  if (typeof value === "bigint") return { value: value.toString() };
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CastRefusal(`non-finite number in ${column.name}`);
    return { value: String(value) };
  }
  if (typeof value === "boolean") return { value: value ? "1" : "0" };
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const bytes = Buffer.from(value);
    if (column.kind === "binary") return { value: "\\x" + bytes.toString("hex") };
    try {
      return { value: repairText(strictUtf8.decode(bytes)) };
    } catch (err) {
      if (err instanceof CastRefusal) throw err;
      throw new CastRefusal(`invalid UTF-8 bytes in ${column.name}`);
    }
  }
  if (value instanceof Date) return { value: value.toISOString() };
  if (typeof value === "object") return { value: JSON.stringify(value) };
  const s = String(value);
  switch (column.kind) {
    case "date":
    case "datetime":
    case "timestamp": {
      if (s.trim() === "") return { value: s };
      const d = DATE.exec(s) ?? DATETIME.exec(s);
      if (!d) return { value: null, flag: { raw: s, reason: `not a date: ${JSON.stringify(s)}` } };
      const [y, mo, da] = [+d[1]!, +d[2]!, +d[3]!];
      if (y === 0 && mo === 0 && da === 0) return { value: null, flag: { raw: s, reason: "zero date" } };
      if (!validDate(y, mo, da)) return { value: null, flag: { raw: s, reason: "impossible date" } };
      if (column.kind === "date" || DATE.test(s)) return { value: s.slice(0, 10) };
      return { value: column.kind === "timestamp" ? s.replace(" ", "T") + "Z" : zonedToUtc(s, opts.timeZone) };
    }
    default:
      return { value: column.kind === "text" ? repairText(s) : s };
  }
}

/** Casts a row; a refusal of any value refuses the row with the column named. */
export function castRow(row: Record<string, unknown>, columns: readonly LegacyColumn[], opts: CastOptions): CastRow {
  const values: Record<string, string | null> = {};
  const flags: Record<string, Flag> = {};
  for (const c of columns) {
    try {
      const r = castValue(row[c.name], c, opts);
      values[c.name] = r.value;
      if (r.flag) flags[c.name] = r.flag;
    } catch (err) {
      if (err instanceof CastRefusal) return { ok: false, reason: `${c.name}: ${err.message}` };
      throw err;
    }
  }
  return { ok: true, values, flags };
}

/** A row as JSON for the quarantine: text as read (bytes as hex), nothing cast. */
export function verbatim(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === "bigint") out[k] = v.toString();
    else if (Buffer.isBuffer(v) || v instanceof Uint8Array) out[k] = { hex: Buffer.from(v).toString("hex") };
    else out[k] = v;
  }
  return out;
}
