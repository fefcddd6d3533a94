import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { codegenEnabled } from "../../packages/core/src/codegen";
import { CopyBatches, type CopyValue } from "../../packages/core/src/copy";
import { type BinaryType, BinaryRows } from "../../packages/core/src/copy-binary";
import { barMapping } from "../../packages/core/src/imb/tables";
import { parseChunk } from "../../packages/core/src/imports/process-chunk";
import { partnerBMortgages } from "../../packages/core/src/sources/partner-b-mortgages";
import { partnerCMortgages } from "../../packages/core/src/sources/partner-c-mortgages";

const saved = process.env.LEADPIPE_CODEGEN;
afterEach(() => {
  if (saved === undefined) delete process.env.LEADPIPE_CODEGEN;
  else process.env.LEADPIPE_CODEGEN = saved;
});

/** Runs `fn` with generated code on, then off, and returns both answers. */
function bothPaths<T>(fn: () => T): { generated: T; plain: T } {
  process.env.LEADPIPE_CODEGEN = "on";
  const generated = fn();
  process.env.LEADPIPE_CODEGEN = "off";
  const plain = fn();
  return { generated, plain };
}

/** A small deterministic generator, so a failure names a reproducible input. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("generated code and its plain path (LEADPIPE_CODEGEN)", () => {
  it("reads the switch: on unless off, 0 or false", () => {
    expect(codegenEnabled({})).toBe(true);
    expect(codegenEnabled({ LEADPIPE_CODEGEN: "on" })).toBe(true);
    for (const off of ["off", "OFF", "0", "false", " off "])
      expect(codegenEnabled({ LEADPIPE_CODEGEN: off })).toBe(false);
  });

  it("IMb bar mapping: both paths give the same characters, states and seen bits", () => {
    const compiled = barMapping(true);
    const plain = barMapping(false);
    const stateOf = new Int8Array(65536).fill(-1);
    "TDAF".split("").forEach((c, i) => (stateOf[c.charCodeAt(0)] = i));
    const rnd = lcg(7);
    for (let n = 0; n < 2000; n++) {
      const states = Uint8Array.from({ length: 65 }, () => Math.floor(rnd() * 4));
      const bars = [...states].map((s) => "TDAF"[s]).join("");
      // Every 97th string carries a character that is no bar state.
      const input = n % 97 === 0 ? `${bars.slice(0, 30)}X${bars.slice(31)}` : bars;
      const a = new Int32Array(10);
      const b = new Int32Array(10);
      expect(compiled.barsToCharacters(input, stateOf, a)).toBe(plain.barsToCharacters(input, stateOf, b));
      expect([...a]).toEqual([...b]);
      compiled.statesToCharacters(states, a);
      plain.statesToCharacters(states, b);
      expect([...a]).toEqual([...b]);
      const sa = new Uint8Array(65);
      const sb = new Uint8Array(65);
      compiled.charactersToStates(a, sa);
      plain.charactersToStates(b, sb);
      expect([...sa]).toEqual([...sb]);
      expect([...sa]).toEqual([...states]);
    }
  });

  it("binary COPY tuple writer: both paths write the same bytes", () => {
    const columns = ["t", "i", "n", "d", "f", "u"];
    const types: BinaryType[] = ["int8", "text", "text", "int4", "numeric", "date", "bool", "uuid"];
    const rows: Record<string, CopyValue>[] = [
      { t: "José 😀", i: 1, n: "12.50", d: "2026-11-20", f: true, u: "00000000-0000-4000-8000-000000000001" },
      { t: "", i: -7, n: null, d: null, f: false, u: null },
      {
        t: "tab\there",
        i: 2147483647,
        n: "-0.001",
        d: "1970-01-01",
        f: "t",
        u: "FFFFFFFF-FFFF-4FFF-8FFF-FFFFFFFFFFFF",
      },
    ];
    const { generated, plain } = bothPaths(() => {
      const w = new CopyBatches(true);
      const writer = new BinaryRows(types, 2, columns);
      rows.forEach((r, i) => writer.write(w, [i, `line ${i}`], r));
      return Buffer.concat(w.done());
    });
    expect(plain.equals(generated)).toBe(true);
    expect(generated.length).toBeGreaterThan(100);
  });

  it("row validation: both paths accept, refuse and shape the sample day's partner rows alike", () => {
    const lineage = (line: number): CopyValue[] => ["00000000-0000-4000-8000-000000000001", 0, line, String(line)];
    for (const [spec, file, encoding] of [
      [partnerBMortgages, "fixtures/sample-day/partner-b-mortgages-2026-11-20.csv", "utf8"],
      [partnerCMortgages, "fixtures/sample-day/partner-c-mortgages-2026-11-20.csv", "latin1"],
    ] as const) {
      const body = readFileSync(file, encoding as BufferEncoding);
      const records = body.split(/\r?\n/).filter((l) => l !== "").length - 1;
      const { generated, plain } = bothPaths(() => {
        const parsed = parseChunk(spec, body, records, lineage);
        return { rows: parsed.staged.rows, staged: parsed.staged.done().join(""), rejects: parsed.rejects };
      });
      expect(plain).toEqual(generated);
      expect(generated.rows).toBeGreaterThan(0);
    }
  });
});
