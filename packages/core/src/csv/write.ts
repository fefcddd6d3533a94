/**
 * Every CSV the product writes (reports, hand-offs, audiences, CLI output) goes through here.
 */

/** Cells a spreadsheet would run as a formula (CSV injection) start with one of these. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;
/** A negative number written as text (PostgreSQL's numeric arrives as a string): a value, not a formula. */
const NEGATIVE_NUMBER = /^-\d+(\.\d+)?$/;

export type CsvValue = string | number | bigint | boolean | null | undefined;

/**
 * One cell: formula-looking text gets a leading single quote (a negative number, as text or not, stays a
 * number), then RFC 4180 quoting. null/undefined → empty.
 */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  let cell = String(value);
  if (typeof value === "string" && FORMULA_START.test(cell) && !NEGATIVE_NUMBER.test(cell)) cell = `'${cell}`;
  if (NEEDS_QUOTES.test(cell)) cell = `"${cell.replace(/"/g, '""')}"`;
  return cell;
}

/** A value as a database driver gives it, as a cell: a time in ISO 8601, json and arrays as JSON. */
export function csvValue(v: unknown): CsvValue {
  if (v instanceof Date) return v.toISOString();
  if (v === null || v === undefined) return null;
  return typeof v === "object" ? JSON.stringify(v) : (v as CsvValue);
}

/**
 * One CSV line ending in "\n". A cell that a spreadsheet would take for a formula gets a leading
 * single quote, so opening the output never runs what a partner put in a cell. Numbers are
 * written as they are (a negative amount stays a number).
 */
export function csvLine(cells: readonly CsvValue[]): string {
  let line = "";
  for (let index = 0; index < cells.length; index++)
    line += index === 0 ? csvCell(cells[index]) : `,${csvCell(cells[index])}`;
  return `${line}\n`;
}

/** A whole CSV document: a header line and one line per row. */
export function csvDocument(header: readonly string[], rows: Iterable<readonly CsvValue[]>): string {
  let out = csvLine(header);
  for (const row of rows) out += csvLine(row);
  return out;
}
