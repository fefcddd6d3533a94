/**
 * Every partner format end to end against a raw COPY of the same data into an unindexed table,
 * same database, same run, with the process's RSS (the handlers and the Map's worker threads):
 * partner A's XLSX at each size, then partners B, C and D's CSV dialects and partner B's barcode
 * map (after B's mortgages, so every map row links a mail piece). The raw COPY of a workbook
 * reads the same rows written out as CSV.
 *
 * Before any of that, the memory of the two steps that read a whole workbook, at each size:
 * Validate (the ZIP guard inflates every entry) and Checksum + Stage (exceljs streams the sheet
 * into chunk objects). Their RSS growth must not follow the workbook's size.
 *
 *   npx tsx bench/partners.ts [--rows 1000000] [--xlsx-rows 50000,200000] [--chunk-rows 50000] [--only memory|ingest]
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { Import } from "@leadpipe/core";
import { once } from "node:events";
import { writePartnerB } from "../packages/local/src/generate/partner-b";
import { writeBarcodeMap, writePartnerA, writePartnerC, writePartnerD } from "../packages/local/src/generate/partners";
import { readSheetRows } from "../packages/core/src/xlsx/read";
import {
  TABLE_HEADER,
  measure,
  startBench,
  tableRow,
  withPeakRss,
  type Bench,
  type Measured,
  type RawCopyDialect,
} from "./harness";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "xlsx-rows": { type: "string", default: "50000,200000" },
    "chunk-rows": { type: "string", default: "50000" },
    only: { type: "string" },
  },
});
const runMemory = values.only !== "ingest";
const runIngest = values.only !== "memory";
const rows = Number(values.rows);
const xlsxRows = values["xlsx-rows"].split(",").map(Number);
const day = "2026-11-20";

/** The first sheet of a workbook as CSV, for the raw COPY of the same data (streamed). */
async function sheetAsCsv(xlsx: string, csv: string): Promise<void> {
  const out = createWriteStream(csv);
  await readSheetRows(createReadStream(xlsx), async (cells) => {
    if (!out.write(cells.map((c) => (/[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c)).join(",") + "\n"))
      await once(out, "drain");
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
  ...xlsxRows.map(
    (n, i): Case => ({
      name: "partner A (XLSX)",
      fileName: `partner-a-mortgages-${day}-${n}.xlsx`,
      rows: n,
      dialect: {},
      xlsx: true,
      write: (file) => writePartnerA(file, { day, rows: n, startId: 1_000_000 * (i + 1) }),
    }),
  ),
  {
    name: "partner B (CSV)",
    fileName: `partner-b-mortgages-${day}.csv`,
    rows,
    dialect: {},
    write: (file) => writePartnerB(file, { day, rows }),
  },
  {
    name: "partner C (CSV ; Windows-1252)",
    fileName: `partner-c-mortgages-${day}.csv`,
    rows,
    dialect: { delimiter: ";", encoding: "WIN1252" },
    write: (file) => writePartnerC(file, { day, rows }),
  },
  {
    name: "partner D (CSV \\| single quotes)",
    fileName: `partner-d-mortgages-${day}.txt`,
    rows,
    dialect: { delimiter: "|", quote: "'" },
    write: (file) => writePartnerD(file, { day, rows }),
  },
  {
    name: "barcode map (partner B)",
    fileName: `partner-b-barcodes-${day}.csv`,
    rows,
    dialect: {},
    write: (file) => writeBarcodeMap(file, "B", { day, rows }),
  },
];

const MB = 1e6;
/** RSS growth of Validate and of Checksum + Stage for one workbook, landed outside inbox/ so no execution starts. */
async function workbookStepsMemory(platform: Bench["platform"], file: string, rows: number): Promise<string> {
  const key = `bench/${path.basename(file)}`;
  await platform.put(key, file);
  const { importId } = await Import.register(platform.pool, { bucket: platform.bucket, key, eventKey: `bench-${key}` });
  global.gc?.();
  const validate = await withPeakRss(() => platform.invoke("validate", { importId }));
  global.gc?.();
  const stage = await withPeakRss(async () => {
    await platform.invoke("checksum", { importId });
    return platform.invoke("stage", { importId }) as Promise<{ chunks: unknown[] }>;
  });
  const size = statSync(file).size / MB;
  return (
    `| ${rows.toLocaleString("en-US")} | ${size.toFixed(0)} MB | ${validate.startRssMb} → ${validate.peakRssMb} MB (+${validate.peakRssMb - validate.startRssMb}) | ` +
    `${stage.startRssMb} → ${stage.peakRssMb} MB (+${stage.peakRssMb - stage.startRssMb}), ${stage.result.chunks.length} chunks |`
  );
}

const bench = await startBench(Number(values["chunk-rows"]));
const results: Measured[] = [];
try {
  const files = new Map<Case, string>();
  for (const c of cases) {
    if (!(c.xlsx ? runMemory || runIngest : runIngest)) continue;
    const file = path.join(bench.tmp, c.fileName);
    const t = Date.now();
    await c.write(file);
    if (c.xlsx && runIngest) await sheetAsCsv(file, `${file}.csv`);
    console.error(`generated ${c.fileName} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    files.set(c, file);
  }
  if (runMemory) {
    const lines = [
      "| workbook rows | size | Validate (ZIP guard): RSS before → peak | Checksum + Stage: RSS before → peak |",
      "|---:|---:|---:|---:|",
    ];
    for (const c of cases.filter((x) => x.xlsx)) {
      lines.push(await workbookStepsMemory(bench.platform, files.get(c)!, c.rows));
      console.error(lines.at(-1));
    }
    console.log(lines.join("\n") + "\n");
  }
  for (const c of runIngest ? cases : []) {
    const file = files.get(c)!;
    const copyFile = c.xlsx ? `${file}.csv` : file;
    const m = await measure(bench.platform, c.name, file, c.rows, c.dialect, copyFile);
    if (m.imp.status !== "COMPLETE")
      throw new Error(`${c.fileName}: ingest ended ${m.imp.status}: ${m.imp.status_reason}`);
    results.push(m);
    console.error(tableRow(m));
  }
  if (runIngest) {
    const linked = await bench.platform.pool.query<{ partner: string; n: number }>(
      "SELECT partner, count(*)::int AS n FROM mail_pieces GROUP BY 1 ORDER BY 1",
    );
    console.log(TABLE_HEADER);
    for (const m of results) console.log(tableRow(m));
    console.log("\n| file | rows | RSS when dropped | peak RSS | growth |\n|---|---:|---:|---:|---:|");
    for (const m of results)
      console.log(
        `| ${m.name} | ${m.rows.toLocaleString("en-US")} | ${m.startRssMb} MB | ${m.peakRssMb} MB | +${m.peakRssMb - m.startRssMb} MB |`,
      );
    console.log(
      `\nmail pieces linked: ${linked.rows.map((r) => `${r.partner} ${r.n.toLocaleString("en-US")}`).join(", ")}`,
    );
  }
} finally {
  await bench.close();
}
