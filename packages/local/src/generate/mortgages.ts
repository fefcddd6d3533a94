import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { CITIES, FIRST, LAST, LENDERS, STREETS, SUFFIXES, rng, seedOf, trackingCodeFor, type Rng } from "./random";
import { Imb } from "@leadpipe/core";

/** First and last names partner C's Windows-1252 export carries (é, ñ, ü, ç). */
const ACCENTED_FIRST = ["José", "Zoë", "Renée", "Begoña", "Jürgen", "François", "Inés", "Núria"];
const ACCENTED_LAST = ["Muñoz", "Peña", "Ibáñez", "Gómez", "Müller", "Lefèvre", "Núñez", "Çelik"];

/** One generated mortgage closing, before a partner writes it in its own format. */
export interface MortgageRecord {
  id: string;
  first: string;
  last: string;
  coFirst: string;
  coLast: string;
  address: string;
  city: string;
  state: string;
  zip5: string;
  zip4: string;
  amount: number;
  lender: string;
  type: string;
  rate: number;
  closing: [number, number, number];
  firstPayment: [number, number, number];
  phone: string;
  email: string;
  tracking: string;
  routing: string;
  /** 0 for a good row; 1..3 the kind of mistake this row carries (see `badKind`). */
  bad: number;
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

/** A deterministic routing code for a generated piece: none, a ZIP, ZIP+4 or ZIP+4+delivery point. */
export function routingCodeFor(mortgageId: string): string {
  const h = seedOf(`routing:${mortgageId}`);
  const digits = String(h).padStart(11, "0").slice(-11);
  return ["", digits.slice(0, 5), digits.slice(0, 9), digits][h % 4]!;
}

/**
 * The day's mortgages of one partner, deterministic for (partner, day): the same ids and barcodes
 * in every file of that day (mortgage files, barcode maps, delivery feeds). Every `badEvery`-th
 * row is marked bad with a kind from 1 to 3.
 */
export function* mortgageRecords(
  partner: string,
  opts: { day: string; rows: number; badEvery?: number; startId?: number; accents?: boolean },
): Generator<MortgageRecord> {
  const r: Rng = rng(seedOf(`partner-${partner.toLowerCase()}:${opts.day}`));
  const [y, m, d] = opts.day.split("-").map(Number) as [number, number, number];
  const first = opts.startId ?? 100_000;
  for (let i = 0; i < opts.rows; i++) {
    const [city, state, zip3] = r.pick(CITIES);
    const hasCo = r.chance(0.35);
    const accented = opts.accents && r.chance(0.2);
    const last = accented ? r.pick(ACCENTED_LAST) : r.pick(LAST);
    const id = `${partner}-${first + i}`;
    yield {
      id,
      first: accented ? r.pick(ACCENTED_FIRST) : r.pick(FIRST),
      last,
      coFirst: hasCo ? r.pick(FIRST) : "",
      coLast: hasCo ? last : "",
      address: `${r.int(1, 9999)} ${r.pick(["", "N ", "S ", "E ", "W "])}${r.pick(STREETS)} ${r.pick(SUFFIXES)}${r.chance(0.1) ? `, Apt ${r.int(1, 40)}${r.pick(["A", "B", ""])}` : ""}`,
      city,
      state,
      zip5: `${zip3}${pad(r.int(1, 99), 2)}`,
      zip4: r.chance(0.6) ? pad(r.int(1, 9999), 4) : "",
      amount: r.int(80, 1500) * 1000 + r.pick([0, 500]),
      lender: r.pick(LENDERS),
      type: r.pick(["CONV", "CONV", "FHA", "VA", "USDA", "JUMBO"]),
      rate: 5 + r.int(0, 2000) / 1000,
      closing: [y, m, Math.max(1, d - r.int(0, 6))],
      firstPayment: m === 12 ? [y + 1, 1, 1] : [y, m + 1, 1],
      phone: `(${r.int(201, 989)}) 555-${pad(r.int(0, 9999), 4)}`,
      email: r.chance(0.7)
        ? `${last
            .toLowerCase()
            .normalize("NFD")
            .replace(/[^a-z]/g, "")}${r.int(1, 999)}@example.com`
        : "",
      tracking: trackingCodeFor(id),
      routing: routingCodeFor(id),
      bad: opts.badEvery && (i + 1) % opts.badEvery === 0 ? r.int(1, 3) : 0,
    };
  }
}

/** The IMb bar string of a record (a bad kind-3 row of a file with barcodes gets a barcode id the specification forbids). */
export function barsOf(rec: MortgageRecord): string {
  return Imb.encode(rec.tracking, rec.routing);
}

/** Writes text lines to a file in ~1 MB writes (latin1 for Windows-1252 files), waiting on back-pressure. */
export async function writeLines(
  path: string,
  lines: Iterable<string>,
  encoding: "utf8" | "latin1" = "utf8",
  prefix = "",
): Promise<void> {
  const out = createWriteStream(path);
  let buf = prefix;
  for (const line of lines) {
    buf += line;
    if (buf.length > 1 << 20) {
      if (!out.write(Buffer.from(buf, encoding))) await once(out, "drain");
      buf = "";
    }
  }
  out.end(Buffer.from(buf, encoding));
  await once(out, "finish");
}

export const ymd = ([y, m, d]: [number, number, number], f: "MM/DD/YYYY" | "DD.MM.YYYY" | "YYYY-MM-DD") =>
  f === "MM/DD/YYYY"
    ? `${pad(m, 2)}/${pad(d, 2)}/${y}`
    : f === "DD.MM.YYYY"
      ? `${pad(d, 2)}.${pad(m, 2)}.${y}`
      : `${y}-${pad(m, 2)}-${pad(d, 2)}`;

/** The cells every partner's mortgage row starts with: id, borrower and co-borrower names, street, city, state. */
export const borrowerCells = (x: MortgageRecord): string[] => [
  x.id,
  x.first,
  x.last,
  x.coFirst,
  x.coLast,
  x.address,
  x.city,
  x.state,
];

/** How a partner writes a mortgage's values in the column order partners B, C and D share. */
export interface MortgageCellFormat {
  zip(x: MortgageRecord): string;
  /** The mailing address repeats the property's; else its four cells are empty. */
  mailing: boolean;
  amount(n: number): string;
  rate(n: number): string;
  date: Parameters<typeof ymd>[1];
  phone?(phone: string): string;
}

/**
 * A mortgage's 21 cells as partners B, C and D lay them out: id and names, the property address,
 * the mailing address, amount (13), lender, type, rate, closing (17) and first-payment dates,
 * phone, e-mail (20).
 */
export function mortgageCells(x: MortgageRecord, f: MortgageCellFormat): string[] {
  const zip = f.zip(x);
  return [
    ...borrowerCells(x),
    zip,
    ...(f.mailing ? [x.address, x.city, x.state, zip] : ["", "", "", ""]),
    f.amount(x.amount),
    x.lender,
    x.type,
    f.rate(x.rate),
    ymd(x.closing, f.date),
    ymd(x.firstPayment, f.date),
    f.phone ? f.phone(x.phone) : x.phone,
    x.email,
  ];
}

/** ZIP+4 as 12345-6789, or the five digits alone. */
export const dashedZip = (x: MortgageRecord) => (x.zip4 ? `${x.zip5}-${x.zip4}` : x.zip5);
