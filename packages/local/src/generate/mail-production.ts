import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { Imb, Sources, csvLine } from "@leadpipe/core";
import { rng, seedOf, trackingCodeFor } from "./random";
import type { DayFileWriter } from "./day";

type Partner = "A" | "B" | "C" | "D";
const PARTNERS: readonly Partner[] = ["A", "B", "C", "D"];

/**
 * The realistic effects the reports should find in generated data:
 * - version B of every campaign draws more calls: the call generator keeps a call about a version A
 *   piece with probability VERSION_A_CALL_SHARE (so B gets about 1 / (1 + 0.6) = 62% of the calls);
 * - partners take different times from drop to delivery: a piece's delivery day (the generated
 *   day) minus its partner's lead time is its mail date.
 */
export const VERSION_A_CALL_SHARE = 0.6;
const LEAD_DAYS: Record<Partner, readonly number[]> = {
  A: [2, 3, 3, 4],
  B: [3, 4, 5, 6, 6],
  C: [4, 5, 7, 8, 9],
  D: [2, 2, 3],
};
const PIECE_MIX: Record<Partner, readonly string[]> = {
  A: ["letter", "letter", "postcard"],
  B: ["postcard", "postcard", "self_mailer"],
  C: ["letter", "self_mailer"],
  D: ["letter", "postcard", "self_mailer"],
};

/** The mailer version (A/B creative) of the piece mailed for a mortgage id: half and half, fixed by the id. */
export const versionOf = (mortgageId: string): "A" | "B" => (seedOf(`version:${mortgageId}`) % 2 === 0 ? "A" : "B");

/** Days from the mail date to delivery of that piece (its partner's lead times), fixed by the id. */
export function leadDaysOf(partner: Partner, mortgageId: string): number {
  const lead = LEAD_DAYS[partner];
  return lead[seedOf(`lead:${mortgageId}`) % lead.length]!;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

function mailDate(day: string, minusDays: number): [number, number, number] {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - minusDays);
  return [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()];
}

/** Each partner writes the date its own way (the spec's declared format). */
const DATE_CELL: Record<Partner, (ymd: [number, number, number]) => string> = {
  A: ([y, m, d]) => `${y}-${pad(m)}-${pad(d)}`,
  B: ([y, m, d]) => `${pad(m)}/${pad(d)}/${y}`,
  C: ([y, m, d]) => `${pad(d)}.${pad(m)}.${y}`,
  D: ([y, m, d]) => `${y}${pad(m)}${pad(d)}`,
};

/**
 * A partner's production file for the pieces delivered on `day` (rows i: mortgage <P>-<startId + i>,
 * the same pieces the delivery feed confirms that day): IMb (numeric, or bars for A and D), the mail
 * date (day minus the partner's lead time), the version, the piece type, the campaign of the month.
 * `badEvery` > 0 breaks every n-th row (an unknown piece type, or an impossible date).
 */
export async function writeMailProduction(
  file: string,
  partner: Partner,
  opts: { day: string; rows: number; badEvery?: number; startId?: number },
) {
  const spec = Sources.mailProductionSpecs.find((s) => s.partner === partner) as Sources.SourceSpec;
  const r = rng(seedOf(`production:${partner}:${opts.day}`));
  const first = opts.startId ?? 100_000;
  const out = createWriteStream(file);
  let buf = csvLine(Object.keys(spec.columns));
  for (let i = 0; i < opts.rows; i++) {
    const id = `${partner}-${first + i}`;
    const tracking = trackingCodeFor(id);
    const routing = `${r.int(10_000, 99_999)}`;
    const ymd = mailDate(opts.day, leadDaysOf(partner, id));
    const cells = [
      partner === "A" || partner === "D" ? Imb.encode(tracking, routing) : `${tracking}${routing}`,
      DATE_CELL[partner](ymd),
      versionOf(id),
      r.pick(PIECE_MIX[partner]),
      `MP-${ymd[0]}-${pad(ymd[1])}`,
    ];
    if (opts.badEvery && (i + 1) % opts.badEvery === 0) {
      if (r.chance(0.5)) cells[3] = "brochure";
      else cells[1] = DATE_CELL[partner]([ymd[0], 2, 30]);
    }
    buf += csvLine(cells);
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  }
  out.end(buf);
  await once(out, "finish");
}

export const mailProductionDayWriters: DayFileWriter[] = PARTNERS.map((p) => ({
  source: `partner-${p.toLowerCase()}-mail-production`,
  fileName: (day) => `partner-${p.toLowerCase()}-mail-production-${day}.csv`,
  write: (file, o) => writeMailProduction(file, p, o),
}));
