import zlib from "node:zlib";
import type { Readable } from "node:stream";

/**
 * Inspection of an XLSX workbook's ZIP container before anything reads it, so a corrupt,
 * truncated or hostile file (a zip bomb) ends its import with a reason instead of filling the
 * disk or the memory of the step that stages it. Two passes, both streamed:
 *  1. the central directory (read from the end of the object): entry names, declared sizes and
 *     compression ratios are checked before a byte is inflated;
 *  2. every entry is inflated into nothing, counting bytes: an entry that inflates past its
 *     declared size (a directory that lies), past the caps, or fails its CRC stops the pass.
 */

export interface ZipLimits {
  /** Entries in the archive. */
  maxEntries: number;
  /** Inflated bytes of one entry. */
  maxEntryBytes: number;
  /** Inflated bytes of the whole archive. */
  maxTotalBytes: number;
  /** Inflated / compressed size of one entry, checked for entries above `ratioFloorBytes`. */
  maxRatio: number;
  ratioFloorBytes: number;
}

/**
 * Generous for real workbooks (a 1M-row, 21-column sheet is about 1.3 GB of XML, compressed
 * about 10:1), far below what a bomb needs (deflate reaches about 1000:1).
 */
export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 10_000,
  maxEntryBytes: 4 * 1024 ** 3,
  maxTotalBytes: 4 * 1024 ** 3,
  maxRatio: 200,
  ratioFloorBytes: 1024 ** 2,
};

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/** The archive is not a readable ZIP, or breaks a limit: the message is the import's reason. */
export class ZipRejectedError extends Error {
  override readonly name = "ZipRejectedError";
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const EOCD_MIN = 22;
/** The end record sits within the last 22 + 65535 (comment) bytes. */
export const ZIP_TAIL_BYTES = EOCD_MIN + 0xffff;

/** zlib.crc32 arrived in Node 20.15; on older runtimes the inflate's own checks stand alone. */
const crc32 = (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32;

export type RangeReader = (start: number, end: number) => Promise<Readable>;

async function bytes(read: RangeReader, start: number, end: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of await read(start, end)) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

/** Reads and checks the central directory of a `size`-byte ZIP object. */
export async function readDirectory(
  read: RangeReader,
  size: number,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<ZipEntry[]> {
  if (size < EOCD_MIN) throw new ZipRejectedError(`truncated: ${size} bytes is too short for a ZIP archive`);
  const tailStart = Math.max(0, size - ZIP_TAIL_BYTES);
  const tail = await bytes(read, tailStart, size - 1);
  let at = -1;
  for (let i = tail.length - EOCD_MIN; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + EOCD_MIN + tail.readUInt16LE(i + 20) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipRejectedError("truncated or corrupt: the ZIP end-of-central-directory record is missing");
  const count = tail.readUInt16LE(at + 10);
  const dirSize = tail.readUInt32LE(at + 12);
  const dirOffset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    throw new ZipRejectedError("ZIP64 archives are not supported (a workbook this large is over the file limit)");
  }
  if (count > limits.maxEntries) throw new ZipRejectedError(`too many entries: ${count} (limit ${limits.maxEntries})`);
  if (dirOffset + dirSize > tailStart + at)
    throw new ZipRejectedError("truncated or corrupt: the central directory lies outside the file");
  const dir =
    dirOffset >= tailStart
      ? tail.subarray(dirOffset - tailStart, dirOffset - tailStart + dirSize)
      : await bytes(read, dirOffset, dirOffset + dirSize - 1);

  const entries: ZipEntry[] = [];
  let total = 0;
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL)
      throw new ZipRejectedError(`corrupt: central directory entry ${n + 1} of ${count} is damaged`);
    const nameLength = dir.readUInt16LE(p + 28);
    const entry: ZipEntry = {
      name: dir.toString("utf8", p + 46, p + 46 + nameLength),
      flags: dir.readUInt16LE(p + 8),
      method: dir.readUInt16LE(p + 10),
      crc32: dir.readUInt32LE(p + 16),
      compressedSize: dir.readUInt32LE(p + 20),
      uncompressedSize: dir.readUInt32LE(p + 24),
      localHeaderOffset: dir.readUInt32LE(p + 42),
    };
    p += 46 + nameLength + dir.readUInt16LE(p + 30) + dir.readUInt16LE(p + 32);
    if (entry.method !== 0 && entry.method !== 8)
      throw new ZipRejectedError(`unsupported compression method ${entry.method} for ${entry.name}`);
    if (entry.flags & 1)
      throw new ZipRejectedError(`encrypted entry ${entry.name}: password-protected workbooks cannot be read`);
    if (entry.uncompressedSize > limits.maxEntryBytes) {
      throw new ZipRejectedError(
        `zip bomb suspected: ${entry.name} inflates to ${entry.uncompressedSize} bytes (limit ${limits.maxEntryBytes})`,
      );
    }
    const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
    if (entry.uncompressedSize > limits.ratioFloorBytes && ratio > limits.maxRatio) {
      throw new ZipRejectedError(
        `zip bomb suspected: ${entry.name} has a compression ratio of ${Math.round(ratio)}:1 (limit ${limits.maxRatio}:1)`,
      );
    }
    total += entry.uncompressedSize;
    if (total > limits.maxTotalBytes)
      throw new ZipRejectedError(`zip bomb suspected: the entries inflate to more than ${limits.maxTotalBytes} bytes`);
    if (entry.localHeaderOffset + 30 + entry.compressedSize > dirOffset)
      throw new ZipRejectedError(`truncated or corrupt: ${entry.name} lies outside the file`);
    entries.push(entry);
  }
  return entries;
}

/**
 * Inflates every entry, counting bytes, and checks each against its declared size and CRC. Reads
 * each entry's local header and data through `read` (range reads), so memory stays flat.
 */
export async function verifyEntries(
  read: RangeReader,
  entries: readonly ZipEntry[],
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<void> {
  let total = 0;
  for (const e of entries) {
    if (e.name.endsWith("/")) continue;
    const header = await bytes(read, e.localHeaderOffset, e.localHeaderOffset + 29);
    if (header.length < 30 || header.readUInt32LE(0) !== LOCAL)
      throw new ZipRejectedError(`corrupt: the local header of ${e.name} is damaged`);
    const dataStart = e.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (e.compressedSize === 0) {
      if (e.uncompressedSize !== 0)
        throw new ZipRejectedError(`corrupt: ${e.name} declares ${e.uncompressedSize} bytes but holds none`);
      continue;
    }
    const source = await read(dataStart, dataStart + e.compressedSize - 1);
    const inflate = e.method === 8 ? zlib.createInflateRaw() : undefined;
    let size = 0;
    let crc = 0;
    const check = (part: Buffer) => {
      size += part.length;
      total += part.length;
      if (size > e.uncompressedSize)
        throw new ZipRejectedError(
          `corrupt or a zip bomb: ${e.name} inflates past its declared ${e.uncompressedSize} bytes`,
        );
      if (total > limits.maxTotalBytes)
        throw new ZipRejectedError(
          `zip bomb suspected: the entries inflate to more than ${limits.maxTotalBytes} bytes`,
        );
      if (crc32) crc = crc32(part, crc);
    };
    try {
      if (inflate) {
        source.pipe(inflate);
        source.on("error", (err) => inflate.destroy(err));
        for await (const part of inflate) check(part as Buffer);
      } else {
        for await (const part of source) check(part as Buffer);
      }
    } catch (err) {
      source.destroy();
      inflate?.destroy();
      if (err instanceof ZipRejectedError) throw err;
      if ((err as { code?: string }).code?.startsWith("Z_"))
        throw new ZipRejectedError(`corrupt: ${e.name} does not inflate (${(err as Error).message})`);
      throw err;
    }
    if (size !== e.uncompressedSize)
      throw new ZipRejectedError(
        `truncated or corrupt: ${e.name} inflates to ${size} bytes, its directory says ${e.uncompressedSize}`,
      );
    if (crc32 && crc >>> 0 !== e.crc32) throw new ZipRejectedError(`corrupt: ${e.name} fails its CRC check`);
  }
}
