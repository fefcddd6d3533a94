/**
 * Writes a workbook whose shared-strings table holds `n` distinct short strings, and whose first
 * sheet's one row refers to the first and the last (test/support/xlsx.ts). Run as a child so the
 * test's own process stays responsive while it deflates.
 *
 *   node --import tsx test/support/xlsx-strings-file.ts <out.xlsx> <n>
 */
import { writeFileSync } from "node:fs";
import { manyStrings, workbook } from "./xlsx";

const [out, count] = process.argv.slice(2);
const n = Number(count);
writeFileSync(
  out!,
  workbook(manyStrings(n), `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>${n - 1}</v></c></row>`),
);
