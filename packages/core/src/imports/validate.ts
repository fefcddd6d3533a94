import { parse } from "csv-parse/sync";
import type { Deps } from "../ports";
import { FileRejectedError, asRetryable } from "../errors";
import * as Sources from "../sources/index";
import type { SourceSpec } from "../sources/index";
import { getImport, stepFinished, stepStarted } from "./repo";
import { readAll } from "./streams";

const SNIFF_BYTES = 64 * 1024;

/** Cheap checks before any byte is staged: source known, size sane, format what the spec says. */
export async function validate(deps: Deps, importId: string): Promise<{ importId: string }> {
  const { pool, store, settings } = deps;
  const imp = await getImport(pool, importId);
  await stepStarted(pool, importId, "validate", "STAGING");
  const spec = imp.source ? Sources.get(imp.source) : undefined;
  if (!spec) {
    throw new FileRejectedError(`unknown source: no source spec matches ${imp.object_key} (known sources: ${Sources.names().join(", ")})`);
  }
  let head;
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
    sample = await readAll(await store.read(imp.bucket, imp.object_key, { start: 0, end: Math.min(head.size, SNIFF_BYTES) - 1 }));
  } catch (err) {
    throw asRetryable(err, "reading the start of the file");
  }
  sniffCsv(spec, sample, head.size <= SNIFF_BYTES);
  await pool.query("UPDATE imports SET size_bytes = $2, uploaded_by = coalesce($3, uploaded_by) WHERE id = $1",
    [importId, head.size, head.metadata["uploaded-by"] ?? null]);
  await stepFinished(pool, importId, "validate");
  return { importId };
}

/** Rejects content that is not delimited text in the spec's shape; returns the header fields. */
export function sniffCsv(spec: SourceSpec, sample: Buffer, complete: boolean): string[] {
  if (sample.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    throw new FileRejectedError("not a CSV file: the content is a ZIP archive (an XLSX workbook?)");
  }
  if (sample.includes(0)) throw new FileRejectedError("not a CSV file: the content is binary (NUL bytes)");
  let text = sample.toString(spec.reader.encoding === "utf-8" ? "utf8" : "latin1");
  if (spec.reader.encoding === "utf-8") {
    // A multi-byte character may be cut at the end of the sample; anything else undecodable is not UTF-8.
    const body = complete ? text : text.slice(0, -4);
    if (body.includes("\uFFFD")) throw new FileRejectedError("not a CSV file: the content is not UTF-8 text");
  }
  text = text.replace(/^\uFEFF/, "");
  const firstLine = text.split(/\r?\n/).find((l) => l.trim() !== "");
  if (firstLine === undefined) throw new FileRejectedError(spec.reader.header === false ? "empty file: no records" : "empty file: no header row");
  if (spec.reader.header === false) return Object.keys(spec.columns);
  let header: string[];
  try {
    header = (parse(firstLine, { delimiter: spec.reader.delimiter, relax_quotes: true }) as string[][])[0] ?? [];
  } catch (err) {
    throw new FileRejectedError(`not a CSV file: the header row cannot be parsed (${(err as Error).message})`);
  }
  const found = new Set(header.map((h) => h.trim().toLowerCase()));
  const optional = new Set(spec.optionalColumns ?? []);
  const missing = Object.keys(spec.columns).filter((c) => !optional.has(c) && !found.has(c.toLowerCase()));
  if (missing.length > 0) {
    throw new FileRejectedError(
      `header does not match ${spec.name}: missing column(s) ${missing.map((m) => JSON.stringify(m)).join(", ")}; found ${header.length} column(s) starting ${header.slice(0, 5).map((h) => JSON.stringify(h)).join(", ")}`);
  }
  return header;
}
