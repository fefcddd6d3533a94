import { parse } from "csv-parse/sync";
import type { Deps } from "../ports";
import { FileRejectedError, asRetryable } from "../errors";
import * as Sources from "../sources/index";
import { chunkDialect, fileColumns, replayReader, type Reader, type SourceSpec } from "../sources/spec";
import { inspectWorkbook } from "../xlsx/read";
import { ZipRejectedError, type RangeReader } from "../xlsx/zip";
import { getImport } from "./repo";
import * as Lifecycle from "./lifecycle";
import { readAll } from "./streams";
import { RecordSplitter, RecordTooLongError } from "../csv/records";
import { badBytes } from "../csv/bytes";

const SNIFF_BYTES = 64 * 1024;
/** Two NULs or more, one in this many bytes of the sample or more: binary content rather than text with a bad row. */
const BINARY_NUL_SHARE = 1000;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Cheap checks before any byte is staged: source known, size sane, format what the spec says. */
export async function validate(deps: Deps, importId: string): Promise<{ importId: string }> {
  const { pool, store, settings } = deps;
  const imp = await getImport(pool, importId);
  await Lifecycle.validating(pool, importId);
  const spec = imp.source ? Sources.get(imp.source) : undefined;
  if (!spec) {
    throw new FileRejectedError(
      `unknown source: no source spec matches ${imp.object_key} (known sources: ${Sources.names().join(", ")})`,
    );
  }
  if (spec.partnerFromFileName) {
    const known = Sources.partners();
    if (!imp.partner)
      throw new FileRejectedError(
        `cannot tell the partner from the file name ${imp.file_name} (expected e.g. partner-b-… for ${spec.name})`,
      );
    if (!known.includes(imp.partner))
      throw new FileRejectedError(
        `unknown partner ${imp.partner} in the file name ${imp.file_name} (known partners: ${known.join(", ")})`,
      );
  }
  let head: Awaited<ReturnType<typeof store.head>>;
  try {
    head = await store.head(imp.bucket, imp.object_key);
  } catch (err) {
    throw asRetryable(err, "reading the object's metadata");
  }
  if (head.size === 0) throw new FileRejectedError("empty file: 0 bytes");
  if (head.size > settings.maxFileBytes) {
    throw new FileRejectedError(`file too large: ${head.size} bytes (limit ${settings.maxFileBytes})`);
  }
  let sample: Buffer;
  try {
    sample = await readAll(
      await store.read(imp.bucket, imp.object_key, { start: 0, end: Math.min(head.size, SNIFF_BYTES) - 1 }),
    );
  } catch (err) {
    throw asRetryable(err, "reading the start of the file");
  }
  if (imp.replay_mode === "errors-only") {
    sniffCsv(spec, sample, head.size <= SNIFF_BYTES, replayReader(spec.reader));
  } else if (spec.reader.format === "xlsx") {
    await sniffXlsx(sample, (start, end) => store.read(imp.bucket, imp.object_key, { start, end }), head.size);
  } else {
    sniffCsv(spec, sample, head.size <= SNIFF_BYTES);
  }
  await pool.query("UPDATE imports SET size_bytes = $2, uploaded_by = coalesce($3, uploaded_by) WHERE id = $1", [
    importId,
    head.size,
    head.metadata["uploaded-by"] ?? null,
  ]);
  await Lifecycle.stepFinished(pool, importId, "validate");
  return { importId };
}

/** Rejects content that is not delimited text in the spec's shape; returns the header fields. */
export function sniffCsv(spec: SourceSpec, sample: Buffer, complete: boolean, reader: Reader = spec.reader): string[] {
  if (reader.format !== "csv") throw new Error(`sniffCsv called for a ${reader.format} source (${spec.name})`);
  if (sample.subarray(0, 4).equals(ZIP_MAGIC)) {
    throw new FileRejectedError("not a CSV file: the content is a ZIP archive (an XLSX workbook?)");
  }
  // A NUL byte in a text file rejects its row (csv/bytes.ts); NULs by the hundred are a binary file.
  let nuls = 0;
  for (let i = sample.indexOf(0); i >= 0; i = sample.indexOf(0, i + 1)) nuls++;
  if (nuls > 1 && nuls * BINARY_NUL_SHARE >= sample.length) {
    throw new FileRejectedError(
      `not a CSV file: the content is binary (${nuls} NUL bytes in its first ${sample.length} bytes)`,
    );
  }
  let bytes = sample.subarray(0, 3).equals(UTF8_BOM) ? sample.subarray(3) : sample;
  if (reader.encoding === "windows-1252") bytes = Buffer.from(new TextDecoder("windows-1252").decode(bytes), "utf8");
  const { delimiter, quote } = chunkDialect(reader);
  let first: Buffer | undefined;
  let firstEnd = 0;
  const splitter = new RecordSplitter({ delimiter, quote });
  const take = (record: Buffer, _line: number, offset: number) => {
    if (first === undefined) [first, firstEnd] = [record, offset + record.length];
  };
  try {
    splitter.push(bytes, take);
    splitter.end(take);
  } catch (err) {
    if (!(err instanceof RecordTooLongError)) throw err;
  }
  if (first === undefined)
    throw new FileRejectedError(reader.header === false ? "empty file: no records" : "empty file: no header row");
  if (reader.header === false) return Object.keys(spec.columns);
  // The sample may end inside a multi-byte character: a header cut there is checked short of the cut.
  const why = badBytes(
    !complete && firstEnd === bytes.length ? first.subarray(0, Math.max(0, first.length - 3)) : first,
  );
  if (why !== undefined) throw new FileRejectedError(`not a CSV file: the header row is not text: ${why}`);
  const firstLine = first.toString("utf8");
  let header: string[];
  try {
    header = (parse(firstLine, { delimiter, quote, escape: quote, relax_quotes: true }) as string[][])[0] ?? [];
  } catch (err) {
    throw new FileRejectedError(`not a CSV file: the header row cannot be parsed (${(err as Error).message})`);
  }
  fileColumns(spec, header);
  return header;
}

/**
 * A workbook must be a ZIP archive holding an XLSX workbook that inflates within the limits
 * (entry sizes checked in the directory before inflating, then every entry inflated and counted).
 */
export async function sniffXlsx(sample: Buffer, read: RangeReader, size: number): Promise<void> {
  if (!sample.subarray(0, 4).equals(ZIP_MAGIC)) {
    throw new FileRejectedError("not an XLSX workbook: the content is not a ZIP archive (a CSV or text file?)");
  }
  try {
    await inspectWorkbook(read, size);
  } catch (err) {
    if (err instanceof ZipRejectedError) throw new FileRejectedError(`XLSX workbook rejected: ${err.message}`);
    throw asRetryable(err, "inspecting the workbook");
  }
}
