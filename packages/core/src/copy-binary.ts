import { codegenEnabled, compile } from "./codegen";
import type { Pool } from "./db";
import type { CopyBatches, CopyValue } from "./copy";

/**
 * Staged rows in PostgreSQL's binary COPY format. PostgreSQL reads it with each type's receive
 * function instead of parsing text (no delimiter and escape scan, no date or numeric parser): a
 * 50k-row chunk of partner B costs its backend about a quarter less CPU to load than as text.
 *
 * The encoders write each value's bytes straight into the COPY buffers (text as UTF-8, encoded
 * here): no string is built per row, so a row leaves no garbage behind. They take the values the
 * row rules produce (text, canonical integers, 'YYYY-MM-DD' dates, plain decimals); any other
 * value throws CopyEncodeError and the caller stages the chunk as text instead, where
 * PostgreSQL's own input functions decide, so binary never accepts what text would refuse.
 */
export type BinaryType = "text" | "int2" | "int4" | "int8" | "numeric" | "date" | "bool" | "uuid";

/** A value the binary encoders do not take (the chunk is staged as text instead). */
export class CopyEncodeError extends Error {}

type Encode = (w: CopyBatches, v: string | number | boolean) => void;

/** PostgreSQL type names (format_type) the binary encoders handle. */
const TYPES: Record<string, BinaryType> = {
  text: "text",
  "character varying": "text",
  smallint: "int2",
  integer: "int4",
  bigint: "int8",
  numeric: "numeric",
  date: "date",
  boolean: "bool",
  uuid: "uuid",
};

const INTEGER = /^[+-]?\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/**
 * Text this long or longer is encoded by Buffer.write rather than character by character. Shorter
 * text (most cells) is cheaper encoded here than through a native call each: encoding 50k partner-B
 * rows took 43 ms so and 73 ms with Buffer.write for every value.
 */
const LONG_TEXT = 64;

function refuse(type: string, v: unknown): never {
  throw new CopyEncodeError(`${JSON.stringify(v)} is not a ${type} the binary COPY encoder takes`);
}

function put32(buf: Buffer, at: number, n: number): void {
  buf[at] = n >>> 24;
  buf[at + 1] = n >>> 16;
  buf[at + 2] = n >>> 8;
  buf[at + 3] = n;
}

function put16(buf: Buffer, at: number, n: number): void {
  buf[at] = n >>> 8;
  buf[at + 1] = n;
}

/**
 * A fixed-width value: its length, then `bytes` bytes the caller fills at the returned offset
 * (in `w.buf` as it is after this call: making room may start a new buffer).
 */
function fixed(w: CopyBatches, bytes: number): number {
  w.room(4 + bytes);
  const at = w.used;
  put32(w.buf, at, bytes);
  w.used = at + 4 + bytes;
  return at + 4;
}

/** Text as its UTF-8 bytes (a lone surrogate as U+FFFD, as Buffer.from does). */
function text(w: CopyBatches, v: string | number | boolean): void {
  const s = typeof v === "string" ? v : String(v);
  const n = s.length;
  w.room(4 + n * 3);
  const buf = w.buf;
  const at = w.used;
  let p = at + 4;
  if (n >= LONG_TEXT) {
    p += buf.write(s, p, "utf8");
  } else {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x80) {
        buf[p++] = c;
      } else if (c < 0x800) {
        buf[p++] = 0xc0 | (c >> 6);
        buf[p++] = 0x80 | (c & 63);
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          buf[p++] = 0xf0 | (cp >> 18);
          buf[p++] = 0x80 | ((cp >> 12) & 63);
          buf[p++] = 0x80 | ((cp >> 6) & 63);
          buf[p++] = 0x80 | (cp & 63);
          i++;
        } else {
          buf[p++] = 0xef;
          buf[p++] = 0xbf;
          buf[p++] = 0xbd;
        }
      } else {
        buf[p++] = 0xe0 | (c >> 12);
        buf[p++] = 0x80 | ((c >> 6) & 63);
        buf[p++] = 0x80 | (c & 63);
      }
    }
  }
  put32(buf, at, p - at - 4);
  w.used = p;
}

function integer(v: string | number | boolean, type: string): number {
  if (typeof v === "number" ? !Number.isSafeInteger(v) : typeof v !== "string" || !INTEGER.test(v)) refuse(type, v);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) refuse(type, v);
  return n;
}

function int2(w: CopyBatches, v: string | number | boolean): void {
  const n = integer(v, "smallint");
  if (n < -32768 || n > 32767) refuse("smallint", v);
  const at = fixed(w, 2);
  put16(w.buf, at, n);
}

function int4(w: CopyBatches, v: string | number | boolean): void {
  const n = integer(v, "integer");
  if (n < -2147483648 || n > 2147483647) refuse("integer", v);
  const at = fixed(w, 4);
  put32(w.buf, at, n);
}

function int8(w: CopyBatches, v: string | number | boolean): void {
  let hi: number, lo: number;
  if (typeof v === "string" && v.length > 15 && INTEGER.test(v)) {
    // Beyond 2^53 a double loses digits.
    const b = BigInt(v);
    if (b < -(1n << 63n) || b >= 1n << 63n) refuse("bigint", v);
    const u = BigInt.asUintN(64, b);
    hi = Number(u >> 32n);
    lo = Number(u & 0xffffffffn);
  } else {
    const n = integer(v, "bigint");
    hi = Math.floor(n / 4294967296);
    lo = n - hi * 4294967296;
  }
  const at = fixed(w, 8);
  put32(w.buf, at, hi);
  put32(w.buf, at + 4, lo);
}

function bool(w: CopyBatches, v: string | number | boolean): void {
  const b =
    v === true || v === "true" || v === "t" ? 1 : v === false || v === "false" || v === "f" ? 0 : refuse("boolean", v);
  const at = fixed(w, 1);
  w.buf[at] = b;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
const PG_EPOCH_DAYS = daysFromCivil(2000, 1, 1);

function digitAt(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : NaN;
}

function date(w: CopyBatches, v: string | number | boolean): void {
  if (typeof v !== "string" || v.length !== 10 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45) refuse("date", v);
  const y = digitAt(v, 0) * 1000 + digitAt(v, 1) * 100 + digitAt(v, 2) * 10 + digitAt(v, 3);
  const mo = digitAt(v, 5) * 10 + digitAt(v, 6);
  const d = digitAt(v, 8) * 10 + digitAt(v, 9);
  // NaN (a non-digit) fails every comparison below.
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (!(y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= DAYS_IN_MONTH[mo - 1]! + (leap ? 1 : 0))) refuse("date", v);
  const at = fixed(w, 4);
  put32(w.buf, at, daysFromCivil(y, mo, d) - PG_EPOCH_DAYS);
}

const NUMERIC_GROUPS = new Array<number>(64);

/**
 * A plain decimal ("-1234.50", "7", ".5") as numeric's binary form: base-10000 digits, the
 * weight of the first, the sign and the display scale (the digits after the point, as text input
 * keeps them). The column's typmod is applied by PostgreSQL as for text.
 */
function decimal(w: CopyBatches, s: string): void {
  const n = s.length;
  let i = 0;
  let negative = false;
  if (n > 0 && (s.charCodeAt(0) === 45 || s.charCodeAt(0) === 43)) {
    negative = s.charCodeAt(0) === 45;
    i = 1;
  }
  let point = s.indexOf(".", i);
  if (point < 0) point = n;
  const intLen = point - i;
  const fracLen = point < n ? n - point - 1 : 0;
  if (intLen + fracLen === 0 || fracLen > 0x3fff || intLen + fracLen > 4 * (NUMERIC_GROUPS.length - 2))
    refuse("numeric", s);
  // Groups of four digits aligned on the point: the first group may hold fewer (leading zeros).
  const lead = (4 - (intLen % 4)) % 4;
  const intGroups = (intLen + lead) / 4;
  const total = intGroups + Math.ceil(fracLen / 4);
  let g = 0;
  let acc = 0;
  let k = lead;
  for (let j = i; j < n; j++) {
    if (j === point) continue;
    const c = s.charCodeAt(j) - 48;
    if (c < 0 || c > 9) refuse("numeric", s);
    acc = acc * 10 + c;
    if (++k === 4) {
      NUMERIC_GROUPS[g++] = acc;
      acc = 0;
      k = 0;
    }
  }
  if (k > 0) {
    for (; k < 4; k++) acc *= 10;
    NUMERIC_GROUPS[g++] = acc;
  }
  let first = 0;
  while (first < total && NUMERIC_GROUPS[first] === 0) first++;
  let last = total;
  while (last > first && NUMERIC_GROUPS[last - 1] === 0) last--;
  const digits = last - first;
  const at = fixed(w, 8 + 2 * digits);
  const buf = w.buf;
  put16(buf, at, digits);
  put16(buf, at + 2, digits === 0 ? 0 : intGroups - 1 - first);
  put16(buf, at + 4, negative && digits > 0 ? 0x4000 : 0);
  put16(buf, at + 6, fracLen);
  for (let j = first; j < last; j++) put16(buf, at + 8 + 2 * (j - first), NUMERIC_GROUPS[j]!);
}

function numeric(w: CopyBatches, v: string | number | boolean): void {
  if (typeof v === "string") decimal(w, v);
  // A number's shortest text ("1e+21" and "NaN" are refused).
  else if (typeof v === "number") decimal(w, String(v));
  else refuse("numeric", v);
}

let lastUuid = "";
let lastUuidBytes = Buffer.alloc(16);
function uuid(w: CopyBatches, v: string | number | boolean): void {
  if (v !== lastUuid) {
    if (typeof v !== "string" || !UUID.test(v)) refuse("uuid", v);
    lastUuidBytes = Buffer.from(v.replace(/-/g, ""), "hex");
    lastUuid = v;
  }
  const at = fixed(w, 16);
  lastUuidBytes.copy(w.buf, at);
}

const ENCODERS: Record<BinaryType, Encode> = { text, int2, int4, int8, numeric, date, bool, uuid };

type RowWriter = (
  w: CopyBatches,
  enc: readonly Encode[],
  head: readonly CopyValue[],
  record: Readonly<Record<string, unknown>>,
) => void;

/**
 * A tuple writer specialised to `headLength` head values and these record `columns`: each value
 * read by its constant key at its own site (a property load the engine caches for the record's
 * one shape) and passed to its column's encoder, instead of a loop of lookups by a varying key.
 */
function rowWriter(headLength: number, columns: readonly string[], generated = codegenEnabled()): RowWriter {
  if (!generated) {
    return (w, enc, head, record) => {
      for (let i = 0; i < headLength; i++) value(w, enc[i]!, head[i]);
      for (let j = 0; j < columns.length; j++) value(w, enc[headLength + j]!, record[columns[j]!] as CopyValue);
    };
  }
  const body = [
    ...Array.from({ length: headLength }, (_x, i) => `value(w, enc[${i}], head[${i}]);`),
    ...columns.map((c, j) => `value(w, enc[${headLength + j}], record[${JSON.stringify(c)}]);`),
  ];
  return compile<RowWriter>(["value"], `return function writeRow(w, enc, head, record) {\n${body.join("\n")}\n};`, [
    value,
  ]);
}

function value(w: CopyBatches, encode: Encode, v: CopyValue): void {
  if (v === null || v === undefined) nullValue(w);
  else encode(w, v);
}

/**
 * Encodes rows as binary COPY tuples into the buffers of a binary CopyBatches: `headLength` values
 * given per row, then the record's `columns`, of `types` in that order.
 */
export class BinaryRows {
  private readonly encoders: Encode[];
  private readonly writeRow: RowWriter;
  constructor(
    readonly types: readonly BinaryType[],
    headLength: number,
    columns: readonly string[],
    /** Compiled writer (the default unless LEADPIPE_CODEGEN=off) or the plain loop. */
    generated = codegenEnabled(),
  ) {
    if (headLength + columns.length !== types.length) {
      throw new Error(`binary COPY: ${headLength + columns.length} values for ${types.length} columns`);
    }
    this.encoders = types.map((t) => ENCODERS[t]);
    this.writeRow = rowWriter(headLength, columns, generated);
  }

  /** One tuple: the `head` values, then the record's columns. */
  write(w: CopyBatches, head: readonly CopyValue[], record: Readonly<Record<string, unknown>>): void {
    w.room(2);
    put16(w.buf, w.used, this.encoders.length);
    w.used += 2;
    this.writeRow(w, this.encoders, head, record);
    w.rows++;
  }
}

function nullValue(w: CopyBatches): void {
  w.room(4);
  put32(w.buf, w.used, -1);
  w.used += 4;
}

const formats = new WeakMap<Pool, Map<string, Promise<BinaryRows | undefined>>>();

/**
 * The binary row encoder for `head` columns (given per row) then `columns` (read from the record)
 * of `table`, from the catalog (asked once per pool, table and columns); undefined when some column
 * has a type the encoders do not handle (stage as text).
 */
export function binaryRowsFor(
  pool: Pool,
  table: string,
  head: readonly string[],
  columns: readonly string[],
): Promise<BinaryRows | undefined> {
  let byTable = formats.get(pool);
  if (!byTable) formats.set(pool, (byTable = new Map()));
  const key = `${table}(${head.join(",")};${columns.join(",")})`;
  let found = byTable.get(key);
  if (!found) {
    found = pool
      .query<{ name: string; type: string }>(
        "SELECT attname AS name, format_type(atttypid, NULL) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
        [table],
      )
      .then(({ rows }) => {
        const typeOf = new Map(rows.map((r) => [r.name, TYPES[r.type]]));
        const types = [...head, ...columns].map((c) => typeOf.get(c));
        return types.every((t): t is BinaryType => t !== undefined)
          ? new BinaryRows(types, head.length, columns)
          : undefined;
      });
    // A failed look-up is asked again next time.
    found.catch(() => byTable!.delete(key));
    byTable.set(key, found);
  }
  return found;
}
