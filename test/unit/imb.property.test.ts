import bwipjs from "bwip-js/node";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Imb } from "@leadpipe/core";

const digits = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: length, maxLength: length });

/** Tracking codes the specification allows: the second digit of the barcode id is 0-4. */
const tracking = fc
  .tuple(digits(1), fc.integer({ min: 0, max: 4 }), digits(18))
  .map(([first, second, rest]) => `${first}${second}${rest}`);
const routing = fc.constantFrom(0, 5, 9, 11).chain(digits);
const SEED = 20240603;

/** Bar states from bwip-js's raw output: bottom at 0 is a descender, top at the maximum an ascender. */
function bwipBars(text: string): string {
  const [symbol] = bwipjs.raw("onecode", text, {}) as { bbs: number[]; bhs: number[] }[];
  const { bbs, bhs } = symbol!;
  const tops = bbs.map((bottom, index) => bottom + bhs[index]!);
  const highest = Math.max(...tops);
  return bbs
    .map(
      (bottom, index) => "TDAF"[(Math.abs(bottom) < 1e-9 ? 1 : 0) | (Math.abs(tops[index]! - highest) < 1e-9 ? 2 : 0)],
    )
    .join("");
}

describe("Imb round trips", () => {
  it("decode(encode(tracking, routing)) gives back the codes and consistent fields", () => {
    fc.assert(
      fc.property(tracking, routing, (trackingCode, routingCode) => {
        const bars = Imb.encode(trackingCode, routingCode);
        expect(bars).toMatch(/^[FADT]{65}$/);
        const decoded = Imb.decode(bars);
        expect(decoded.tracking).toBe(trackingCode);
        expect(decoded.routing).toBe(routingCode);
        expect(decoded.repaired).toBe(false);
        expect(decoded.barcodeId + decoded.serviceTypeId + decoded.mailerId + decoded.serialNumber).toBe(trackingCode);
        expect(decoded.mailerId.length).toBe(trackingCode[5] === "9" ? 9 : 6);
        expect(decoded.zip + decoded.plus4 + decoded.deliveryPoint).toBe(routingCode);
      }),
      { numRuns: 20_000, seed: SEED },
    );
  });

  it("parse gives one canonical key for every encoding of the same barcode", () => {
    fc.assert(
      fc.property(tracking, routing, fc.constantFrom("", " ", "-"), (trackingCode, routingCode, separator) => {
        const bars = Imb.encode(trackingCode, routingCode);
        const canonical = { tracking: trackingCode, routing: routingCode, repaired: false };
        const digitBars = Array.from(bars, (letter) => "TDAF".indexOf(letter)).join("");
        expect(Imb.parse(bars)).toEqual({ ...canonical, encoding: "bars" });
        expect(Imb.parse(` ${bars.toLowerCase()}\n`)).toEqual({ ...canonical, encoding: "bars" });
        expect(Imb.parse(digitBars)).toEqual({ ...canonical, encoding: "bars" });
        const numeric = [trackingCode.slice(0, 2), trackingCode.slice(2, 5), trackingCode.slice(5), routingCode].join(
          separator,
        );
        expect(Imb.parse(numeric)).toEqual({ ...canonical, encoding: "numeric" });
        expect(Imb.parse(Imb.decode(bars))).toEqual({ ...canonical, encoding: "fields" });
        expect(Imb.tryParse(bars)).toEqual({ ok: true, ...canonical, encoding: "bars" });
      }),
      { numRuns: 5_000, seed: SEED },
    );
  });
});

describe("Imb.encode against bwip-js (bcid onecode), an independent encoder", () => {
  it("agrees bar for bar on 100,000 random valid inputs", () => {
    fc.assert(
      fc.property(tracking, routing, (trackingCode, routingCode) => {
        expect(Imb.encode(trackingCode, routingCode)).toBe(bwipBars(trackingCode + routingCode));
      }),
      { numRuns: 100_000, seed: SEED },
    );
  }, 120_000);

  it("agrees on the extremes", () => {
    for (const [trackingCode, routingCode] of [
      ["00000000000000000000", ""],
      ["94999999999999999999", ""],
      ["94999999999999999999", "99999"],
      ["94999999999999999999", "999999999"],
      ["94999999999999999999", "99999999999"],
      ["00000000000000000000", "00000000000"],
      ["00000000000000000000", "00000"],
    ] as const) {
      expect(Imb.encode(trackingCode, routingCode)).toBe(bwipBars(trackingCode + routingCode));
    }
  });
});

describe("a single wrong bar", () => {
  it("is always rejected by the exact decoder, and repaired to the original or rejected, never decoded to another code", () => {
    let repaired = 0;
    let rejected = 0;
    fc.assert(
      fc.property(tracking, routing, (trackingCode, routingCode) => {
        const bars = Imb.encode(trackingCode, routingCode);
        for (let bar = 0; bar < 65; bar++) {
          for (const letter of "FADT") {
            if (letter === bars[bar]) continue;
            const corrupted = bars.slice(0, bar) + letter + bars.slice(bar + 1);
            expect(Imb.tryParse(corrupted, { repair: false }).ok).toBe(false);
            const result = Imb.tryParse(corrupted);
            if (result.ok) {
              expect(result).toEqual({
                ok: true,
                tracking: trackingCode,
                routing: routingCode,
                repaired: true,
                encoding: "bars",
              });
              repaired++;
            } else {
              expect(result.error).toMatch(/^imb: .*(single-bar repairs pass, ambiguous|no single-bar repair passes)/);
              rejected++;
            }
          }
        }
      }),
      { numRuns: 500, seed: SEED },
    );
    expect(repaired + rejected).toBe(500 * 65 * 3);
    // Ambiguity needs a second single-bar change to pass the 11-bit frame check: rare.
    expect(rejected / (repaired + rejected)).toBeLessThan(0.02);
  }, 120_000);

  it("decode reports the repair when asked to repair", () => {
    const bars = Imb.encode("01234567094987654321", "01234567891");
    const corrupted = bars.slice(0, 30) + (bars[30] === "F" ? "T" : "F") + bars.slice(31);
    expect(() => Imb.decode(corrupted)).toThrow(Imb.Error);
    expect(Imb.decode(corrupted, { repair: true })).toMatchObject({
      tracking: "01234567094987654321",
      routing: "01234567891",
      repaired: true,
    });
    expect(() => Imb.parse(corrupted, { repair: false })).toThrow(/^imb: /);
  });
});
