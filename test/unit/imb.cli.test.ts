import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { PassThrough, Readable } from "node:stream";
import { promisify } from "node:util";
import { parse as parseCsv } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { Imb } from "@leadpipe/core";
import { imbCommand } from "../../packages/local/src/commands/imb.ts";
import { csvLine } from "../../packages/core/src/csv/write";

const TRACKING = "01234567094987654321";
const ROUTING = "01234567891";
const BARS = "AADTFFDFTDADTAADAATFDTDDAAADDTDTTDAFADADDDTFFFDDTTTADFAAADFTDAADA";
const BARS_NO_ROUTING = "ATTFATTDTTADTAATTDTDTATTDAFDDFADFDFTFFFFFTATFAAAATDFFTDAADFTFDTDT";

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString("utf8");
}

/** Runs `leadpipe imb <args>` in-process with `input` on stdin. */
async function run(args: string[], input = ""): Promise<{ stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const readOut = collect(stdout);
  const readErr = collect(stderr);
  await imbCommand({ stdin: Readable.from([input]), stdout, stderr }).parseAsync(args, { from: "user" });
  return { stdout: readOut(), stderr: readErr() };
}

describe("leadpipe imb encode / decode", () => {
  it("encodes one code", async () => {
    expect((await run(["encode", TRACKING, ROUTING])).stdout).toBe(`${BARS}\n`);
    expect((await run(["encode", TRACKING])).stdout).toBe(`${BARS_NO_ROUTING}\n`);
  });

  it("decodes one barcode, for people and as JSON", async () => {
    const { stdout } = await run(["decode", BARS]);
    expect(stdout).toContain(`tracking        ${TRACKING}\n`);
    expect(stdout).toContain("mailer id       567094\n");
    expect(stdout).toContain("delivery point  91\n");
    expect(stdout).toContain("repaired        no\n");
    const json = JSON.parse((await run(["decode", "--json", BARS.toLowerCase()])).stdout) as Imb.Decoded;
    expect(json).toEqual(Imb.decode(BARS));
  });

  it("repairs a single wrong bar unless told not to", async () => {
    const corrupted = `T${BARS.slice(1)}`;
    expect(JSON.parse((await run(["decode", "--json", corrupted])).stdout)).toMatchObject({
      tracking: TRACKING,
      repaired: true,
    });
    await expect(run(["decode", "--no-repair", corrupted])).rejects.toThrow(Imb.CharacterError);
  });

  it("fails with the typed error for a bad single code", async () => {
    await expect(run(["encode", "05234567094987654321"])).rejects.toThrow(
      "imb: second digit of the barcode identifier is 5, expected 0-4",
    );
    await expect(run(["decode", BARS.slice(1)])).rejects.toThrow(Imb.LengthError);
    await expect(run(["encode"])).rejects.toThrow("imb encode: give a tracking code, or --csv");
  });
});

describe("leadpipe imb encode --csv", () => {
  it("adds bars and error to every row, a bad row's reason in its error column", async () => {
    const input = [
      "id,tracking,routing",
      `1,${TRACKING},${ROUTING}`,
      `2,${TRACKING},`,
      "3,05234567094987654321,",
      "4,123,1234",
      `5,${TRACKING}`,
      `6,${TRACKING},,surplus`,
    ].join("\n");
    const { stdout, stderr } = await run(["encode", "--csv"], input);
    expect(stdout).toBe(
      [
        "id,tracking,routing,bars,error",
        `1,${TRACKING},${ROUTING},${BARS},`,
        `2,${TRACKING},,${BARS_NO_ROUTING},`,
        '3,05234567094987654321,,,"imb: second digit of the barcode identifier is 5, expected 0-4"',
        '4,123,1234,,"imb: tracking code has 3 digits, expected 20"',
        `5,${TRACKING},,${BARS_NO_ROUTING},`,
        `6,${TRACKING},,,"csv: row has 4 fields, the header 3 (extra fields dropped)"`,
        "",
      ].join("\n"),
    );
    expect(stderr).toMatch(/^imb encode: 6 rows, 3 ok, 3 with an error \(/);
  });

  it("finds its columns by name in any order and case, and keeps the input's columns as they were", async () => {
    const input = `Routing,note, TRACKING \r\n${ROUTING},"a, ""quoted""\nnote",${TRACKING}\r\n`;
    const { stdout } = await run(["encode", "--csv"], input);
    expect(parseCsv(stdout)).toEqual([
      ["Routing", "note", " TRACKING ", "bars", "error"],
      [ROUTING, 'a, "quoted"\nnote', TRACKING, BARS, ""],
    ]);
  });

  it("neutralizes cells a spreadsheet would run as formulas", async () => {
    const input = `tracking,routing,note\n=HYPERLINK("x"),,+1\n${TRACKING},,@SUM(A1)\n`;
    const rows = parseCsv((await run(["encode", "--csv"], input)).stdout) as string[][];
    expect(rows[1]).toEqual(['\'=HYPERLINK("x")', "", "'+1", "", "imb: tracking code has 15 digits, expected 20"]);
    expect(rows[2]).toEqual([TRACKING, "", "'@SUM(A1)", BARS_NO_ROUTING, ""]);
  });

  it("streams many rows", async () => {
    const lines = ["tracking,routing"];
    for (let index = 0; index < 20_000; index++)
      lines.push(`${String(index).padStart(20, "0")},${index % 2 ? "" : "12345"}`);
    const rows = parseCsv((await run(["encode", "--csv"], lines.join("\n"))).stdout) as string[][];
    expect(rows).toHaveLength(20_001);
    expect(rows.every((row, index) => index === 0 || (row[2]!.length === 65 && row[3] === ""))).toBe(true);
    expect(Imb.decode(rows[12_345]!.at(2)!)).toMatchObject({ tracking: "00000000000000012344", routing: "12345" });
  });

  it("fails when the input is not readable: no tracking column, nothing at all, or broken quoting", async () => {
    await expect(run(["encode", "--csv"], "id,routing\n1,12345\n")).rejects.toThrow(
      "imb encode --csv: the input has no tracking column (header: id,routing)",
    );
    await expect(run(["encode", "--csv"], "")).rejects.toThrow(
      "imb encode --csv: the input is empty (expected a header row)",
    );
    await expect(run(["encode", "--csv"], `tracking\n${TRACKING}\n"unclosed\n`)).rejects.toThrow(
      /^imb encode --csv: the input is not readable CSV \(\d+ rows written before the error\): Quote Not Closed/,
    );
  });
});

describe("leadpipe imb decode --csv", () => {
  it("adds tracking, routing, repaired and error; accepts every encoding in the bars column", async () => {
    const input = [
      "bars,source",
      `${BARS},a`,
      `T${BARS.slice(1)},b`,
      ` ${BARS_NO_ROUTING.toLowerCase()} ,c`,
      `${TRACKING}${ROUTING},d`,
      `${BARS.slice(1)},e`,
      ",f",
    ].join("\n");
    const { stdout, stderr } = await run(["decode", "--csv"], input);
    expect(parseCsv(stdout)).toEqual([
      ["bars", "source", "tracking", "routing", "repaired", "error"],
      [BARS, "a", TRACKING, ROUTING, "false", ""],
      [`T${BARS.slice(1)}`, "b", TRACKING, ROUTING, "true", ""],
      [` ${BARS_NO_ROUTING.toLowerCase()} `, "c", TRACKING, "", "false", ""],
      [`${TRACKING}${ROUTING}`, "d", TRACKING, ROUTING, "false", ""],
      [BARS.slice(1), "e", "", "", "", "imb: bar string has 64 bars, expected 65"],
      ["", "f", "", "", "", "imb: empty barcode"],
    ]);
    expect(stderr).toMatch(/^imb decode: 6 rows, 4 ok, 2 with an error/);
  });

  it("rejects instead of repairing with --no-repair", async () => {
    const rows = parseCsv(
      (await run(["decode", "--csv", "--no-repair"], `bars\nT${BARS.slice(1)}\n`)).stdout,
    ) as string[][];
    expect(rows[1]).toEqual([`T${BARS.slice(1)}`, "", "", "", "imb: character E is in neither character table"]);
  });
});

describe("csvLine", () => {
  it("quotes what needs quoting and nothing else", () => {
    expect(csvLine(["a", "b c", 'say "hi"', "x,y", "line\nbreak", ""])).toBe(
      'a,b c,"say ""hi""","x,y","line\nbreak",\n',
    );
    expect(csvLine(["-1+2", "\tx", "\rx", "ok"])).toBe("'-1+2,'\tx,\"'\rx\",ok\n");
  });
});

// cli.ts belongs to another change; the end-to-end spawn runs once it mounts this command.
const cliSource = readFileSync(new URL("../../packages/local/src/cli.ts", import.meta.url), "utf8");
describe.skipIf(!cliSource.includes("imbCommand"))("the leadpipe binary", () => {
  it("runs `leadpipe imb encode`", async () => {
    const { stdout } = await promisify(execFile)(
      "node",
      ["packages/local/bin/leadpipe.js", "imb", "encode", TRACKING, ROUTING],
      {
        cwd: new URL("../..", import.meta.url),
      },
    );
    expect(stdout).toBe(`${BARS}\n`);
  });
});
