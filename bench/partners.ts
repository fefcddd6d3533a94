/**
 * Every partner format end to end against a raw COPY of the same data into an unindexed table,
 * same database, same run, with the process's RSS (the handlers and the Map's worker threads):
 * partner A's XLSX at two sizes first (RSS must stay flat as the workbook grows), then partners
 * B, C and D's CSV dialects and partner B's barcode map (after B's mortgages, so every map row
 * links a mail piece). The raw COPY of a workbook reads the same rows written out as CSV.
 *
 *   npx tsx bench/partners.ts [--rows 1000000] [--xlsx-rows 50000,200000] [--chunk-rows 50000]
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import { writePartnerB } from "../packages/local/src/generate/partner-b";
import { writeBarcodeMap, writePartnerA, writePartnerC, writePartnerD } from "../packages/local/src/generate/partners";
import { readSheetRows } from "../packages/core/src/xlsx/read";
import { TABLE_HEADER, measure, startBench, tableRow, type Measured, type RawCopyDialect } from "./harness";

const { values } = parseArgs({ options: {
  rows: { type: "string", default: "1000000" }, "xlsx-rows": { type: "string", default: "50000,200000" }, "chunk-rows": { type: "string", default: "50000" },
} });
const rows = Number(values.rows);
const xlsxRows = values["xlsx-rows"].split(",").map(Number);
const day = "2026-11-20";

/** The first sheet of a workbook as CSV, for the raw COPY of the same data (streamed). */
async function sheetAsCsv(xlsx: string, csv: string): Promise<void> {
  const out = createWriteStream(csv);
  await readSheetRows(createReadStream(xlsx), async (cells) => {
    if (!out.write(cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(",") + "\n")) await once(out, "drain");
  });
  out.end();
  await once(out, "finish");
}

interface Case {
  name: string;
  fileName: string;
  rows: number;
  write(file: string): Promise<void>;
  dialect: RawCopyDialect;
  xlsx?: true;
}

const cases: Case[] = [
  ...xlsxRows.map((n, i): Case => ({
    name: "partner A (XLSX)", fileName: `partner-a-mortgages-${day}-${n}.xlsx`, rows: n, dialect: {}, xlsx: true,
    write: (file) => writePartnerA(file, { day, rows: n, startId: 1_000_000 * (i + 1) }),
  })),
  { name: "partner B (CSV)", fileName: `partner-b-mortgages-${day}.csv`, rows, dialect: {}, write: (file) => writePartnerB(file, { day, rows }) },
  { name: "partner C (CSV ; Windows-1252)", fileName: `partner-c-mortgages-${day}.csv`, rows, dialect: { delimiter: ";", encoding: "WIN1252" }, write: (file) => writePartnerC(file, { day, rows }) },
  { name: "partner D (CSV \\| single quotes)", fileName: `partner-d-mortgages-${day}.txt`, rows, dialect: { delimiter: "|", quote: "'" }, write: (file) => writePartnerD(file, { day, rows }) },
  { name: "barcode map (partner B)", fileName: `partner-b-barcodes-${day}.csv`, rows, dialect: {}, write: (file) => writeBarcodeMap(file, "B", { day, rows }) },
];

const bench = await startBench(Number(values["chunk-rows"]));
const results: Measured[] = [];
try {
  for (const c of cases) {
    const file = path.join(bench.tmp, c.fileName);
    const t = Date.now();
    await c.write(file);
    const copyFile = c.xlsx ? `${file}.csv` : file;
    if (c.xlsx) await sheetAsCsv(file, copyFile);
    console.error(`generated ${c.fileName} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const m = await measure(bench.platform, c.name, file, c.rows, c.dialect, copyFile);
    if (m.imp.status !== "COMPLETE") throw new Error(`${c.fileName}: ingest ended ${m.imp.status}: ${m.imp.status_reason}`);
    results.push(m);
    console.error(tableRow(m));
  }
  const linked = await bench.platform.pool.query<{ partner: string; n: number }>("SELECT partner, count(*)::int AS n FROM mail_pieces GROUP BY 1 ORDER BY 1");
  console.log(TABLE_HEADER);
  for (const m of results) console.log(tableRow(m));
  console.log("\n| file | rows | RSS when dropped | peak RSS | growth |\n|---|---:|---:|---:|---:|");
  for (const m of results) console.log(`| ${m.name} | ${m.rows.toLocaleString("en-US")} | ${m.startRssMb} MB | ${m.peakRssMb} MB | +${m.peakRssMb - m.startRssMb} MB |`);
  console.log(`\nmail pieces linked: ${linked.rows.map((r) => `${r.partner} ${r.n.toLocaleString("en-US")}`).join(", ")}`);
} finally {
  await bench.close();
}
