import { isUtf8 } from "node:buffer";

/**
 * Bytes that cannot become text: a NUL (PostgreSQL text cannot hold one) or bytes that are not
 * UTF-8. Such a record is rejected on its own with its line number (or, for a source declared
 * `strict`, the file is refused at that line); it is never decoded with replacement characters.
 */

/** Why a record's bytes are not text, with where in the record; undefined when they are. */
export function badBytes(record: Buffer): string | undefined {
  const nul = record.indexOf(0);
  const invalid = isUtf8(record) ? -1 : firstInvalidUtf8(record);
  if (nul < 0 && invalid < 0) return undefined;
  if (nul >= 0 && (invalid < 0 || nul < invalid)) return `a NUL byte at byte ${nul + 1} of the line`;
  return `not UTF-8 text: byte 0x${record[invalid]!.toString(16).toUpperCase().padStart(2, "0")} at byte ${invalid + 1} of the line`;
}

/** Whether a whole buffer is text (the fast check before any record is looked at). */
export function allText(buf: Buffer): boolean {
  return buf.indexOf(0) < 0 && isUtf8(buf);
}

/** The offset of the first byte that does not begin or continue a valid UTF-8 sequence (-1: none). */
export function firstInvalidUtf8(buf: Buffer): number {
  for (let i = 0; i < buf.length; ) {
    const n = sequenceAt(buf, i);
    if (n === 0) return i;
    i += n;
  }
  return -1;
}

/** The length of the valid UTF-8 sequence starting at `i` (1 to 4), or 0 when there is none. */
function sequenceAt(buf: Buffer, i: number): number {
  const b = buf[i]!;
  if (b < 0x80) return 1;
  let need: number;
  let min: number;
  if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
  else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
  else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
  else return 0;
  let cp = b & (0x3f >> need);
  for (let k = 1; k <= need; k++) {
    const c = buf[i + k];
    if (c === undefined || (c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return need + 1;
}

/**
 * A record's bytes as text for a reject's value: valid UTF-8 as it is, control characters, a
 * backslash and bytes that are not UTF-8 as \xNN (at most `max` characters, then "…").
 */
export function printable(record: Buffer, max = 200): string {
  let out = "";
  for (let i = 0; i < record.length; ) {
    if (out.length >= max) return out + "…";
    const n = sequenceAt(record, i);
    const c = record[i]!;
    if (n > 1) out += record.toString("utf8", i, i + n);
    else if (n === 1 && c >= 0x20 && c !== 0x7f && c !== 0x5c) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).toUpperCase().padStart(2, "0")}`;
    i += n || 1;
  }
  return out;
}
