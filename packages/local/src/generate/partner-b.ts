import { Sources } from "@leadpipe/core";
import { dashedZip, mortgageCells, mortgageRecords, writeLines, type MortgageRecord } from "./mortgages";

const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

function line(x: MortgageRecord): string {
  const cols = mortgageCells(x, {
    zip: dashedZip,
    mailing: false,
    amount: (n) => `$${n.toLocaleString("en-US")}.00`,
    rate: (n) => n.toFixed(3),
    date: "MM/DD/YYYY",
  });
  // Mistakes partners really make: an amount not yet known, a missing name, an impossible date.
  if (x.bad === 1) cols[13] = "TBD";
  else if (x.bad === 2) cols[2] = "";
  else if (x.bad === 3) cols[17] = "2026-13-45";
  return cols.map(csvCell).join(",") + "\n";
}

/**
 * Writes a partner-B mortgage file of `rows` rows for `day`, deterministic for (day, rows).
 * `badEvery` > 0 makes every n-th row invalid in a way partners really get wrong.
 */
export async function writePartnerB(
  path: string,
  opts: { day: string; rows: number; badEvery?: number; startId?: number },
): Promise<void> {
  function* lines() {
    yield Object.keys(Sources.partnerBMortgages.columns).join(",") + "\n";
    for (const x of mortgageRecords("B", opts)) yield line(x);
  }
  await writeLines(path, lines());
}
