import { open } from "node:fs/promises";
import ExcelJS from "exceljs";
import { Sources } from "@leadpipe/core";
import {
  barsOf,
  borrowerCells,
  dashedZip,
  mortgageCells,
  mortgageRecords,
  writeLines,
  ymd,
  type MortgageRecord,
} from "./mortgages";
import type { DayFileWriter } from "./day";

export interface PartnerFileOptions {
  day: string;
  rows: number;
  badEvery?: number;
  startId?: number;
}

const eu = (n: number, decimals: number) => {
  const [int, frac] = n.toFixed(decimals).split(".");
  return `${int!.replace(/\B(?=(\d{3})+$)/g, ".")}${frac ? `,${frac}` : ""}`;
};

/** Partner C: semicolons, Windows-1252, DD.MM.YYYY, 312.500,00, accented names. */
export async function writePartnerC(path: string, opts: PartnerFileOptions): Promise<void> {
  const semi = (v: string) => (/[;"\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  function* lines() {
    yield Object.keys(Sources.partnerCMortgages.columns).join(";") + "\r\n";
    for (const x of mortgageRecords("C", { ...opts, accents: true })) {
      const cols = mortgageCells(x, {
        zip: dashedZip,
        mailing: false,
        amount: (n) => eu(n, 2),
        rate: (n) => eu(n, 3),
        date: "DD.MM.YYYY",
      });
      if (x.bad === 1)
        cols[13] = "312,500.00"; // a US amount in a European file
      else if (x.bad === 2) cols[7] = "Texas";
      else if (x.bad === 3) cols[17] = ymd(x.closing, "MM/DD/YYYY");
      yield cols.map(semi).join(";") + "\r\n";
    }
  }
  await writeLines(path, lines(), "latin1");
}

/** Partner D: pipes, every field in single quotes, UTF-8 with a BOM, ISO dates, UPPER CASE. */
export async function writePartnerD(path: string, opts: PartnerFileOptions): Promise<void> {
  const q = (v: string) => `'${v.replaceAll("'", "''")}'`;
  function* lines() {
    yield Object.keys(Sources.partnerDMortgages.columns).map(q).join("|") + "\n";
    for (const x of mortgageRecords("D", opts)) {
      const cols = mortgageCells(x, {
        zip: (r) => `${r.zip5}${r.zip4}`,
        mailing: true,
        amount: (n) => n.toFixed(2),
        rate: (n) => n.toFixed(3),
        date: "YYYY-MM-DD",
        phone: (p) => p.replace(/\D/g, ""),
      }).map((v) => v.toUpperCase());
      if (x.bad === 1) cols[13] = "-1.00";
      else if (x.bad === 2) cols[0] = "";
      else if (x.bad === 3) cols[20] = "NOT AN EMAIL";
      yield cols.map(q).join("|") + "\n";
    }
  }
  await writeLines(path, lines(), "utf8", "\uFEFF");
}

/**
 * Partner A: an XLSX workbook written as a stream (memory flat at any size), real Excel dates,
 * numbers as numbers, the IMb bar string in the last column. A bad kind-3 row carries a bar
 * string with two bars wrong (no single-bar repair reaches it).
 */
export async function writePartnerA(path: string, opts: PartnerFileOptions): Promise<void> {
  const book = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings: false });
  // The same day writes the same bytes: the workbook's own dates are the day's, and so are its ZIP
  // entries' times once it is written (exceljs's archiver stamps them with the clock).
  const written = new Date(`${opts.day}T00:00:00Z`);
  book.created = book.modified = written;
  const sheet = book.addWorksheet("Closings");
  const headers = Object.keys(Sources.partnerAMortgages.columns);
  sheet.columns = headers.map((header) => ({
    header,
    key: header,
    width: header === "IMb" ? 70 : 16,
    ...(/Date|Payment/.test(header) ? { style: { numFmt: "yyyy-mm-dd" } } : {}),
  }));
  const date = ([y, m, d]: [number, number, number]) => new Date(Date.UTC(y, m - 1, d));
  for (const x of mortgageRecords("A", opts)) {
    let bars = barsOf(x);
    if (x.bad === 3) bars = swapBars(bars);
    const values: (string | number | Date)[] = [
      ...borrowerCells(x),
      dashedZip(x),
      x.amount,
      x.lender,
      x.type,
      x.rate,
      date(x.closing),
      date(x.firstPayment),
      x.phone,
      x.email,
      bars,
    ];
    if (x.bad === 1) values[9] = "pending";
    else if (x.bad === 2) values[1] = "";
    sheet.addRow(values).commit();
  }
  sheet.commit();
  await book.commit();
  await stampZipEntries(path, written);
}

/** Sets the modification time of every entry of a ZIP file (local and central headers) to `at`'s UTC day, in place. */
async function stampZipEntries(path: string, at: Date): Promise<void> {
  const dosDate = ((at.getUTCFullYear() - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate();
  const stamp = Buffer.alloc(4);
  stamp.writeUInt16LE(0, 0); // 00:00:00
  stamp.writeUInt16LE(dosDate, 2);
  const file = await open(path, "r+");
  try {
    const { size } = await file.stat();
    const tail = Buffer.alloc(Math.min(size, 22 + 0xffff));
    await file.read(tail, 0, tail.length, size - tail.length);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error(`${path}: no ZIP end-of-central-directory record`);
    const count = tail.readUInt16LE(eocd + 10);
    const dir = Buffer.alloc(tail.readUInt32LE(eocd + 12));
    const dirOffset = tail.readUInt32LE(eocd + 16);
    await file.read(dir, 0, dir.length, dirOffset);
    for (let p = 0, n = 0; n < count; n++) {
      await file.write(stamp, 0, 4, dirOffset + p + 12);
      await file.write(stamp, 0, 4, dir.readUInt32LE(p + 42) + 10);
      p += 46 + dir.readUInt16LE(p + 28) + dir.readUInt16LE(p + 30) + dir.readUInt16LE(p + 32);
    }
  } finally {
    await file.close();
  }
}

/** Two bars changed: the frame check fails and no single-bar correction passes. */
function swapBars(bars: string): string {
  const flip = (c: string) => (c === "F" ? "T" : "F");
  return `${flip(bars[0]!)}${bars.slice(1, 10)}${flip(bars[10]!)}${bars.slice(11)}`;
}

/**
 * A partner's barcode map for the day: the same mortgage ids as its mortgage file, each with its
 * piece's IMb in the encoding that partner uses (B numeric with dashes, C bars, D component
 * fields), and now and then another encoding. A bad kind-3 row has a barcode id whose second
 * digit is 7 (the specification allows 0–4).
 */
export async function writeBarcodeMap(path: string, partner: "B" | "C" | "D", opts: PartnerFileOptions): Promise<void> {
  const cell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  const style = { B: 0, C: 1, D: 2 }[partner];
  function* lines() {
    yield Object.keys(Sources.barcodeMap.columns).join(",") + "\n";
    let i = 0;
    for (const x of mortgageRecords(partner, opts)) {
      const kind = i++ % 7 === 6 ? (style + 1) % 3 : style;
      yield mapRow(x, kind).map(cell).join(",") + "\n";
    }
  }
  await writeLines(path, lines());
}

function mapRow(x: MortgageRecord, kind: number): string[] {
  const tracking = x.bad === 3 ? `07${x.tracking.slice(2)}` : x.tracking;
  const [bid, stid, mailer, serial] = [
    tracking.slice(0, 2),
    tracking.slice(2, 5),
    tracking.slice(5, 11),
    tracking.slice(11),
  ];
  if (kind === 2) return [x.id, "", bid, stid, mailer, serial, x.routing];
  if (kind === 1) return [x.id, x.bad === 3 ? `${tracking}${x.routing}` : barsOf(x), "", "", "", "", ""];
  return [x.id, `${bid}-${stid}-${mailer}-${serial}${x.routing ? `-${x.routing}` : ""}`, "", "", "", "", ""];
}

/** Partners A, C, D and the barcode maps of B, C, D for `generate --day` (same day → same ids and barcodes). */
export const partnerDayWriters: DayFileWriter[] = [
  {
    source: "partner-a-mortgages",
    fileName: (day) => `partner-a-mortgages-${day}.xlsx`,
    write: (file, o) => writePartnerA(file, o),
  },
  {
    source: "partner-c-mortgages",
    fileName: (day) => `partner-c-mortgages-${day}.csv`,
    write: (file, o) => writePartnerC(file, o),
  },
  {
    source: "partner-d-mortgages",
    fileName: (day) => `partner-d-mortgages-${day}.txt`,
    write: (file, o) => writePartnerD(file, o),
  },
  ...(["B", "C", "D"] as const).map(
    (p): DayFileWriter => ({
      source: "barcode-map",
      fileName: (day) => `partner-${p.toLowerCase()}-barcodes-${day}.csv`,
      write: (file, o) => writeBarcodeMap(file, p, o),
    }),
  ),
];
