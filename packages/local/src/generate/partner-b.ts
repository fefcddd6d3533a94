import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { CITIES, FIRST, LAST, LENDERS, STREETS, SUFFIXES, rng, seedOf } from "./random";
import { partnerBMortgages } from "@leadpipe/core/sources/partner-b-mortgages";

const csvCell = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const pad = (n: number, w: number) => String(n).padStart(w, "0");

/**
 * Writes a partner-B mortgage file of `rows` rows for `day`, deterministic for (day, rows).
 * `badEvery` > 0 makes every n-th row invalid in a way partners really get wrong.
 */
export async function writePartnerB(path: string, opts: { day: string; rows: number; badEvery?: number; startId?: number }): Promise<void> {
  const r = rng(seedOf(`partner-b:${opts.day}`));
  const [y, m, d] = opts.day.split("-").map(Number) as [number, number, number];
  const out = createWriteStream(path);
  let buf = Object.keys(partnerBMortgages.columns).join(",") + "\n";
  const first = opts.startId ?? 100_000;
  for (let i = 0; i < opts.rows; i++) {
    const [city, state, zip3] = r.pick(CITIES);
    const hasCo = r.chance(0.35);
    const last = r.pick(LAST);
    const amount = r.int(80, 1500) * 1000 + r.pick([0, 500]);
    const cols = [
      `B-${first + i}`, r.pick(FIRST), last, hasCo ? r.pick(FIRST) : "", hasCo ? last : "",
      `${r.int(1, 9999)} ${r.pick(["", "N ", "S ", "E ", "W "])}${r.pick(STREETS)} ${r.pick(SUFFIXES)}${r.chance(0.1) ? `, Apt ${r.int(1, 40)}${r.pick(["A", "B", ""])}` : ""}`,
      city, state, `${zip3}${pad(r.int(1, 99), 2)}${r.chance(0.6) ? `-${pad(r.int(1, 9999), 4)}` : ""}`,
      "", "", "", "",
      `$${amount.toLocaleString("en-US")}.00`, r.pick(LENDERS), r.pick(["CONV", "CONV", "FHA", "VA", "USDA", "JUMBO"]),
      (5 + r.int(0, 2000) / 1000).toFixed(3), `${pad(m, 2)}/${pad(Math.max(1, d - r.int(0, 6)), 2)}/${y}`, `${pad(m === 12 ? 1 : m + 1, 2)}/01/${m === 12 ? y + 1 : y}`,
      `(${r.int(201, 989)}) 555-${pad(r.int(0, 9999), 4)}`, r.chance(0.7) ? `${last.toLowerCase().replace(/[^a-z]/g, "")}${r.int(1, 999)}@example.com` : "",
    ];
    if (opts.badEvery && (i + 1) % opts.badEvery === 0) {
      const k = r.int(0, 2);
      if (k === 0) cols[13] = "TBD";
      else if (k === 1) cols[2] = "";
      else cols[17] = "2026-13-45";
    }
    buf += cols.map(csvCell).join(",") + "\n";
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, "drain");
      buf = "";
    }
  }
  out.end(buf);
  await once(out, "finish");
}
