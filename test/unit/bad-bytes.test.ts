import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { badBytes, firstInvalidUtf8, printable } from "../../packages/core/src/csv/bytes";
import { parseChunk, screenChunk } from "../../packages/core/src/imports/process-chunk";
import { sniffCsv } from "../../packages/core/src/imports/validate";
import { partnerBMortgages } from "../../packages/core/src/sources/partner-b-mortgages";
import { FileRejectedError } from "../../packages/core/src/errors";

const sample = path.resolve(__dirname, "../../fixtures/sample-day/partner-b-mortgages-2026-11-20.csv");
const dialect = { delimiter: ",", quote: '"' };
const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

describe("bytes that are not text", () => {
  it("finds the first byte that is not UTF-8, and a NUL, with its position in the line", () => {
    expect(badBytes(Buffer.from("José,Zoë,日本,😀"))).toBeUndefined();
    expect(badBytes(bytes("Jos", [0xe9], ",x"))).toBe("not UTF-8 text: byte 0xE9 at byte 4 of the line");
    expect(badBytes(bytes("ab", [0], "c"))).toBe("a NUL byte at byte 3 of the line");
    // Overlong forms, surrogates, truncated sequences and bytes that never start one.
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf5, 0x80, 0x80, 0x80], [0x80], [0xff]]) {
      expect(firstInvalidUtf8(bytes("ok", bad)), JSON.stringify(bad)).toBe(2);
    }
    expect(firstInvalidUtf8(Buffer.from("€ 𝄞 ok"))).toBe(-1);
  });

  it("shows a bad line as text a person can read: valid characters kept, the rest as \\xNN", () => {
    expect(printable(bytes("Zoë ", [0xe9, 0], "\\\t"))).toBe("Zoë \\xE9\\x00\\x5C\\x09");
    expect(printable(Buffer.from("x".repeat(300)), 10)).toBe("xxxxxxxxxx…");
  });
});

describe("a chunk with bad bytes", () => {
  const header = "__source_line,a,b\n";
  it("takes out each bad line with its line number, decodes the rest, never with a replacement character", () => {
    const chunk = bytes(header, "7,ok,1\n8,caf", [0xe9], ",2\n9,n", [0], 'l,3\n10,"multi\nline é",4\n');
    const { body, rejects } = screenChunk(chunk, dialect, false);
    expect(body).toBe(header + '7,ok,1\n10,"multi\nline é",4\n');
    expect(body.includes("\uFFFD")).toBe(false);
    expect(rejects).toEqual([
      {
        row: 8,
        type: "parse",
        field: null,
        value: "caf\\xE9,2",
        message: "unreadable line: not UTF-8 text: byte 0xE9 at byte 4 of the line",
        raw: null,
      },
      {
        row: 9,
        type: "parse",
        field: null,
        value: "n\\x00l,3",
        message: "unreadable line: a NUL byte at byte 2 of the line",
        raw: null,
      },
    ]);
  });

  it("refuses the file at the first bad line when the source is strict, and always when the header is bad", () => {
    const chunk = bytes(header, "7,ok,1\n8,caf", [0xe9], ",2\n");
    expect(() => screenChunk(chunk, dialect, true)).toThrow(
      new FileRejectedError(
        "line 8: not UTF-8 text: byte 0xE9 at byte 4 of the line (the source is strict: one bad line refuses the file)",
      ),
    );
    expect(() => screenChunk(bytes("__source_line,a", [0xff], "\n1,x\n"), dialect, false)).toThrow(
      /the header row is not text/,
    );
  });

  it("counts every record as read: accepted and rejected together are the chunk's records", () => {
    const [head, good] = readFileSync(sample, "utf8").split(/\r?\n/);
    const row = (line: number) => `${line},${good!.replace("100001", String(100000 + line))}`;
    const nul = row(3).replace("Maria", "Ma\u0000ria");
    const latin1 = row(4).replace("Gonzalez", "Gonz");
    const chunk = bytes(`__source_line,${head}\n`, row(2) + "\n", nul + "\n", latin1, [0xe1], "lez\n", row(5) + "\n");
    const parsed = parseChunk(partnerBMortgages, chunk, 4, (line) => ["import", 0, line, line, "B"]);
    expect(parsed.rowsRead).toBe(4);
    expect(parsed.rejects.map((r) => [r.row, r.message])).toEqual([
      [3, `unreadable line: a NUL byte at byte ${nul.indexOf("\u0000") - 1} of the line`],
      [4, `unreadable line: not UTF-8 text: byte 0xE1 at byte ${latin1.length - 1} of the line`],
    ]);
    expect(parsed.summary.rows).toBe(2);
  });
});

describe("the format sniff on the first 64 KB", () => {
  const head = Object.keys(partnerBMortgages.columns).join(",");
  it("lets a NUL or a Latin-1 byte in a data row through (that row is rejected later) but not in the header", () => {
    expect(sniffCsv(partnerBMortgages, bytes(head, "\r1,caf", [0xe9, 0], "\r"), true)).toEqual(head.split(","));
    expect(() => sniffCsv(partnerBMortgages, bytes(head.replace("Mortgage", "Mort"), [0xe9], "\n1\n"), true)).toThrow(
      /not a CSV file: the header row is not text: not UTF-8 text: byte 0xE9/,
    );
  });

  it("calls content with NULs by the hundred binary, and reads a CR-only header as one line", () => {
    expect(() => sniffCsv(partnerBMortgages, Buffer.alloc(4096, "a\u0000"), true)).toThrow(
      /the content is binary \(2048 NUL bytes/,
    );
    expect(sniffCsv(partnerBMortgages, Buffer.from(`${head}\r1,2\r3,4\r`), true)).toHaveLength(head.split(",").length);
  });

  it("does not mistake a multi-byte character cut at the end of the sample for a bad byte", () => {
    const cut = Buffer.from(`${head},é`).subarray(0, -1);
    expect(() => sniffCsv(partnerBMortgages, cut, false)).not.toThrow(/not text/);
  });
});
