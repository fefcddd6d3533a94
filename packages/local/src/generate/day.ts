import path from "node:path";
import { writePartnerB } from "./partner-b";
import { feedDayWriters } from "./feeds";
import { complianceDayWriters } from "./compliance";
import { partnerDayWriters } from "./partners";
import { writeContacts } from "./people";
import { mailProductionDayWriters } from "./mail-production";

export interface DayOptions {
  /** Business day, YYYY-MM-DD. */
  day: string;
  /** Rows per file (a generator may scale it for its kind, e.g. responses are a fraction of pieces). */
  rows: number;
  /** Every n-th row invalid (0: none). */
  badEvery: number;
}

/** One file of a generated day. Every source registers one writer here; `generate --day` writes them all. */
export interface DayFileWriter {
  source: string;
  fileName(day: string): string;
  write(file: string, opts: DayOptions): Promise<void>;
}

export const dayWriters: DayFileWriter[] = [
  {
    source: "partner-b-mortgages",
    fileName: (day) => `partner-b-mortgages-${day}.csv`,
    write: (file, o) => writePartnerB(file, { day: o.day, rows: o.rows, badEvery: o.badEvery }),
  },
  ...feedDayWriters,
  ...complianceDayWriters,
  ...partnerDayWriters,
  ...mailProductionDayWriters,
  {
    // A contact list of about `rows` records (people written 1.9 times on average, with realistic noise).
    source: "contacts",
    fileName: (day) => `contacts-${day}.csv`,
    write: async (file, o) => {
      await writeContacts(file, {
        people: Math.max(1, Math.round(o.rows / 1.9)),
        seed: `contacts-${o.day}`,
        badEvery: o.badEvery,
      });
    },
  },
];

/** Writes every registered source's file for the day into `dir`; returns the paths in registry order. */
export async function writeDay(dir: string, opts: DayOptions, only?: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const w of dayWriters) {
    if (only && !only.includes(w.source)) continue;
    const file = path.join(dir, w.fileName(opts.day));
    await w.write(file, opts);
    files.push(file);
  }
  return files;
}
