/**
 * Intelligent Mail barcode codec throughput on one core, against bwip-js in the same run.
 *
 *   npx tsx bench/imb.ts [codes]        (default 1,000,000 random codes)
 *
 * Prints a markdown table (median of 5 rounds for our codec; bwip-js is about 10k codes/s,
 * so it encodes a 20,000-code sample of the same codes).
 */
import bwipjs from "bwip-js/node";
import { Imb } from "@leadpipe/core";
import { median } from "./stats.ts";

const CODES = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = 5;
const BWIP_SAMPLE = Math.min(20_000, CODES);

/** Deterministic random numbers (mulberry32), so every run measures the same codes. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(20240603);
function digits(count: number): string {
  let text = "";
  for (let index = 0; index < count; index++) text += Math.floor(next() * 10);
  return text;
}

const ROUTING_LENGTHS = [0, 5, 9, 11];
const trackings: string[] = new Array(CODES);
const routings: string[] = new Array(CODES);
for (let index = 0; index < CODES; index++) {
  trackings[index] = digits(1) + Math.floor(next() * 5) + digits(18);
  routings[index] = digits(ROUTING_LENGTHS[Math.floor(next() * 4)]!);
}
const bars: string[] = trackings.map((tracking, index) => Imb.encode(tracking, routings[index]));

/** Runs `work` over all codes ROUNDS times (after one warm-up round); median ops/s. */
function measure(count: number, rounds: number, work: (index: number) => number): number {
  let sink = 0;
  const rates: number[] = [];
  for (let round = -1; round < rounds; round++) {
    const started = process.hrtime.bigint();
    for (let index = 0; index < count; index++) sink += work(index);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (round >= 0) rates.push(count / seconds);
  }
  if (sink === -1) console.log(sink); // keeps the work observable
  return median(rates);
}

const encodeRate = measure(CODES, ROUNDS, (index) => Imb.encode(trackings[index]!, routings[index]).length);
const decodeRate = measure(CODES, ROUNDS, (index) => Imb.decode(bars[index]!).tracking.length);
const tryParseRate = measure(CODES, ROUNDS, (index) => {
  const result = Imb.tryParse(bars[index]);
  return result.ok ? result.tracking.length : 0;
});
const bwipRate = measure(
  BWIP_SAMPLE,
  1,
  (index) => bwipjs.raw("onecode", trackings[index]! + routings[index], {}).length,
);

const format = (rate: number) => Math.round(rate).toLocaleString("en-US");
const ratio = (rate: number) => `${Math.round(rate / bwipRate).toLocaleString("en-US")}×`;

console.log(
  `Node ${process.version}, ${CODES.toLocaleString("en-US")} random codes (routing 0/5/9/11 digits), one core\n`,
);
console.log("| operation | codes | ops/s | vs bwip-js encode |");
console.log("|---|---:|---:|---:|");
console.log(
  `| Imb.encode(tracking, routing) | ${CODES.toLocaleString("en-US")} × ${ROUNDS} | ${format(encodeRate)} | ${ratio(encodeRate)} |`,
);
console.log(
  `| Imb.decode(bars) | ${CODES.toLocaleString("en-US")} × ${ROUNDS} | ${format(decodeRate)} | ${ratio(decodeRate)} |`,
);
console.log(
  `| Imb.tryParse(bars) | ${CODES.toLocaleString("en-US")} × ${ROUNDS} | ${format(tryParseRate)} | ${ratio(tryParseRate)} |`,
);
console.log(`| bwip-js raw("onecode") encode | ${BWIP_SAMPLE.toLocaleString("en-US")} | ${format(bwipRate)} | 1× |`);
