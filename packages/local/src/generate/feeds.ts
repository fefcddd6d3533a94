import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { Imb, Sources, csvLine } from "@leadpipe/core";
import { rng, seedOf, trackingCodeFor, type Rng } from "./random";
import { VERSION_A_CALL_SHARE, versionOf } from "./mail-production";
import type { DayFileWriter } from "./day";

export interface FeedOptions {
  day: string;
  rows: number;
  badEvery?: number;
  /** The first mortgage number of the day (the mortgage generators' startId; default 100,000). */
  startId?: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** Writes lines through a buffer of ~1 MB, honouring back-pressure. */
async function writeLines(
  path: string,
  header: readonly string[],
  delimiter: string,
  rows: (emit: (cells: string[]) => Promise<void>) => Promise<void>,
) {
  const out = createWriteStream(path);
  const line = (cells: readonly string[]) => (delimiter === "," ? csvLine(cells) : `${cells.join(delimiter)}\n`);
  let buf = line(header);
  await rows(async (cells) => {
    buf += line(cells);
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  });
  out.end(buf);
  await once(out, "finish");
}

/** A moment of the day: [hour 0-23, minute]. */
type Moment = [number, number];
const twelveHour = ([h, m]: Moment) => `${h % 12 === 0 ? 12 : h % 12}:${pad(m)} ${h < 12 ? "AM" : "PM"}`;

interface Layout {
  spec: Sources.SourceSpec;
  /** Columns the partner sends that we do not read. */
  unused?: string[];
  /** The cells of one delivery of `tracking` (routing: the ZIP the piece went to) at `at` on `day`. */
  cells(r: Rng, tracking: string, routing: string, day: [number, number, number], at: Moment): string[];
}

const LAYOUTS: Record<"A" | "B" | "C" | "D", Layout> = {
  A: {
    spec: Sources.partnerADeliveries,
    cells: (r, tracking, routing, [y, m, d], [h, mi]) => [
      Imb.encode(tracking, routing),
      `${y}-${pad(m)}-${pad(d)}T${pad(h)}:${pad(mi)}:00-06:00`,
      r.pick(["918", "919", "919"]),
    ],
  },
  B: {
    spec: Sources.partnerBDeliveries,
    cells: (r, tracking, routing, [y, m, d], at) => [
      `${tracking} ${routing}`,
      `${pad(m)}/${pad(d)}/${y}`,
      twelveHour(at),
      r.pick(["Delivered", "DELIVERED", "Delivered - Mailbox", "Delivered, Front Door"]),
    ],
  },
  C: {
    spec: Sources.partnerCDeliveries,
    cells: (r, tracking, _routing, [y, m, d], [h, mi]) => [
      tracking,
      `${pad(d)}.${pad(m)}.${y} ${pad(h)}:${pad(mi)}`,
      r.pick(["918", "919"]),
    ],
  },
  D: {
    spec: Sources.partnerDDeliveries,
    unused: ["Facility ZIP"],
    cells: (r, tracking, routing, [y, m, d], at) => {
      const bars = Imb.encode(tracking, routing);
      return [
        r.chance(0.3) ? bars.toLowerCase() : bars,
        `${pad(m)}/${pad(d)}/${y} ${twelveHour(at)}`,
        r.pick(["Delivered", "delivered", "Delivered - Mailbox"]),
        routing.slice(0, 5),
      ];
    },
  },
};

export type Partner = keyof typeof LAYOUTS;
export const FEED_PARTNERS = Object.keys(LAYOUTS) as Partner[];
export const deliverySpecOf = (partner: Partner) => LAYOUTS[partner].spec;

/**
 * A partner's delivery confirmations for `day`, deterministic for (partner, day, rows): row i
 * confirms the piece of mortgage <partner>-<startId + i> (trackingCodeFor), and about one row in
 * twenty is a second, later scan of the previous piece (not its first delivery). `badEvery` > 0
 * breaks every n-th row the way partners do (a bar or digit missing, an impossible time).
 */
export async function writeDeliveries(path: string, partner: Partner, opts: FeedOptions): Promise<void> {
  const layout = LAYOUTS[partner];
  const r = rng(seedOf(`deliveries:${partner}:${opts.day}`));
  const day = opts.day.split("-").map(Number) as [number, number, number];
  const first = opts.startId ?? 100_000;
  await writeLines(
    path,
    [...Object.keys(layout.spec.columns), ...(layout.unused ?? [])],
    Sources.chunkDialect(layout.spec.reader).delimiter,
    async (emit) => {
      for (let i = 0; i < opts.rows; i++) {
        const rescan = i > 0 && r.chance(0.05);
        const tracking = trackingCodeFor(`${partner}-${first + i - (rescan ? 1 : 0)}`);
        const at: Moment = rescan ? [r.int(18, 21), r.int(0, 59)] : [r.int(8, 17), r.int(0, 59)];
        const cells = layout.cells(r, tracking, `${r.int(10_000, 99_999)}${pad(r.int(0, 9999), 4)}`, day, at);
        if (opts.badEvery && (i + 1) % opts.badEvery === 0) {
          if (r.chance(0.5)) cells[0] = cells[0]!.slice(1);
          else {
            const timed = cells.findIndex((c, k) => k > 0 && /\d:\d\d/.test(c));
            cells[timed] = cells[timed]!.replace(/\d{1,2}:\d\d/, "25:61");
          }
        }
        await emit(cells);
      }
    },
  );
}

/**
 * The call center's responses for `day`: callers about pieces of every partner's mortgages of the
 * day (ids <P>-<startId + i>, i < rows), keying the loan number and/or the tracking number, with
 * the mistakes callers make (a digit missing, nothing keyed); dispositions in the mix a call
 * center sees. `badEvery` > 0 breaks every n-th row (a short phone number, an unknown disposition).
 */
export async function writeCallResponses(path: string, opts: FeedOptions): Promise<void> {
  const r = rng(seedOf(`call-center:${opts.day}`));
  const [y, m, d] = opts.day.split("-").map(Number) as [number, number, number];
  const first = opts.startId ?? 100_000;
  const dispositions = [
    "Interested",
    "interested",
    "Call Back",
    "callback",
    "Not Interested",
    "not interested",
    "Not Interested",
    "DNC",
    "Do Not Call Request",
  ];
  await writeLines(path, Object.keys(Sources.callCenterResponses.columns), ",", async (emit) => {
    for (let i = 0; i < opts.rows; i++) {
      // version B's creative draws more calls: a call about a version A piece is kept 60% of the time
      let id = `${r.pick(FEED_PARTNERS)}-${first + r.int(0, Math.max(0, opts.rows - 1))}`;
      while (versionOf(id) === "A" && !r.chance(VERSION_A_CALL_SHARE))
        id = `${r.pick(FEED_PARTNERS)}-${first + r.int(0, Math.max(0, opts.rows - 1))}`;
      const tracking = trackingCodeFor(id);
      const keys = r.int(0, 9);
      const loan = keys <= 6 ? (r.chance(0.2) ? id.toLowerCase().replace("-", " ") : id) : "";
      const keyedTracking = keys >= 4 ? (r.chance(0.1) ? tracking.slice(0, 19) : tracking) : "";
      const cells = [
        `(${r.int(201, 989)}) ${r.int(201, 989)}-${pad(r.int(0, 9999), 4)}`,
        `${pad(m)}/${pad(d)}/${y} ${twelveHour([r.int(8, 19), r.int(0, 59)])}`,
        r.pick(dispositions),
        loan,
        keyedTracking,
      ];
      if (opts.badEvery && (i + 1) % opts.badEvery === 0) {
        if (r.chance(0.5)) cells[0] = cells[0]!.slice(6);
        else cells[2] = "maybe later";
      }
      await emit(cells);
    }
  });
}

/** The feeds' files of a generated day: each partner's deliveries and the call center's responses (a twentieth as many rows as pieces). */
export const feedDayWriters: DayFileWriter[] = [
  ...FEED_PARTNERS.map(
    (p): DayFileWriter => ({
      source: LAYOUTS[p].spec.name,
      fileName: (day) => `${LAYOUTS[p].spec.name}-${day}.csv`,
      write: (file, o) => writeDeliveries(file, p, o),
    }),
  ),
  {
    source: Sources.callCenterResponses.name,
    fileName: (day) => `${Sources.callCenterResponses.name}-${day}.csv`,
    write: (file, o) => writeCallResponses(file, { ...o, rows: Math.max(1, Math.ceil(o.rows / 20)) }),
  },
];
