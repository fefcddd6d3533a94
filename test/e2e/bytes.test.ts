import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalPlatform, Dropped } from "../../packages/local/src/platform";
import { writePartnerB } from "../../packages/local/src/generate/partner-b";
import { manyStrings, workbook } from "../support/xlsx";
import { usePlatform } from "../support/platform";

// No silent byte loss, end to end on the local platform: line endings, bytes that are not text,
// file names of any length S3 accepts, and the inbox watcher.
const sample = path.resolve(__dirname, "../../fixtures/sample-day/partner-b-mortgages-2026-11-20.csv");
/** The sample's rejected rows (see ingest.test.ts), by line: the same whatever the line endings. */
const SAMPLE_REJECTED_LINES = [8, 9, 10, 11];
let platform: LocalPlatform;
let tmp: string;

/** A shared-strings cap small enough for a test workbook to pass it (the default is 1 GiB). */
const XLSX_CAP = 512 * 1024;

beforeAll(() => {
  process.env.XLSX_MAX_SHARED_STRING_BYTES = String(XLSX_CAP);
});
usePlatform("leadpipe-e2e-bytes-", { chunkRows: 100, timeoutMs: 180_000 }, (p, dir) => {
  platform = p;
  tmp = dir;
});

afterAll(() => {
  delete process.env.XLSX_MAX_SHARED_STRING_BYTES;
});

/** Writes `content` as a file named `name` and ingests it; returns the finished import. */
async function ingest(name: string, content: Buffer | string, source?: string) {
  const file = path.join(tmp, name);
  writeFileSync(file, content);
  const [row] = await platform.waitFor([await platform.drop(file, source)]);
  return row!;
}

async function rejects(importId: string) {
  const { rows } = await platform.pool.query<{
    row_number: number;
    error_type: string;
    error_message: string;
    field_value: string | null;
  }>(
    "SELECT DISTINCT ON (row_number) row_number::int, error_type, error_message, field_value FROM import_rejects WHERE import_id = $1 ORDER BY row_number",
    [importId],
  );
  return rows;
}

/** The sample with every row's loan number made unique to `tag`, so each variant is new content with new mortgages. */
function sampleVariant(tag: string): string {
  return readFileSync(sample, "utf8").replace(/B-1000(\d\d)/g, `B-${tag}$1`);
}

function expectAccounted(row: { rows_read: number | null; accepted: number | null; rejected: number | null }) {
  expect(row.rows_read).toBe(row.accepted! + row.rejected!);
}

describe("line endings: every one ends a record", () => {
  it.each([
    ["CR only", (t: string) => t.replace(/\r?\n/g, "\r")],
    ["CRLF", (t: string) => t.replace(/\r?\n/g, "\r\n")],
    [
      "a mixture of LF, CRLF and CR",
      (t: string) => {
        let i = 0;
        return t.replace(/\r?\n/g, () => ["\n", "\r\n", "\r"][i++ % 3]!);
      },
    ],
  ])("%s: the same rows read, accepted and rejected on the same lines as LF", async (label, convert) => {
    const tag = `E${label.length}`;
    const row = await ingest(
      `partner-b-mortgages-endings-${label.replace(/\W+/g, "-")}.csv`,
      convert(sampleVariant(tag)),
    );
    expect(row).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 10, accepted: 6, rejected: 4 });
    expect((await rejects(row.id)).map((r) => r.row_number)).toEqual(SAMPLE_REJECTED_LINES);
    const {
      rows: [m],
    } = await platform.pool.query("SELECT borrower_last_name, source_row FROM mortgages WHERE mortgage_id = $1", [
      `B-${tag}02`,
    ]);
    expect(m).toEqual({ borrower_last_name: "O'Brien", source_row: 3 });
  });

  it("a Windows-1252 file (rewritten by Stage) with CR-only endings reads as its CRLF twin, accents and all", async () => {
    const crlf = readFileSync(path.resolve(__dirname, "../../fixtures/sample-day/partner-c-mortgages-2026-11-20.csv"));
    const twin = (tag: string, cr: boolean) => {
      const text = crlf.toString("latin1").replace(/C-1000(\d\d)/g, `C-${tag}$1`);
      return Buffer.from(cr ? text.replace(/\r\n/g, "\r") : text, "latin1");
    };
    const a = await ingest("partner-c-mortgages-2026-12-06-crlf.csv", twin("K1", false));
    const b = await ingest("partner-c-mortgages-2026-12-06-cr.csv", twin("K2", true));
    expect(a.rows_read).toBeGreaterThan(0);
    expect([b.status, b.rows_read, b.accepted, b.rejected]).toEqual([a.status, a.rows_read, a.accepted, a.rejected]);
    expect((await rejects(b.id)).map((r) => r.row_number)).toEqual((await rejects(a.id)).map((r) => r.row_number));
    const {
      rows: [m],
    } = await platform.pool.query(
      "SELECT borrower_first_name, borrower_last_name FROM mortgages WHERE mortgage_id = 'C-K201'",
    );
    expect(m).toEqual({ borrower_first_name: "José", borrower_last_name: "Muñoz" });
  });
});

describe("bytes that are not text", () => {
  /** A generated partner-B file of `rows` rows with `bytes` put into line `line`'s borrower last name (bytes, not text, throughout). */
  async function damaged(
    name: string,
    rows: number,
    line: number,
    bytes: number[],
    startId: number,
  ): Promise<{ content: Buffer; offset: number }> {
    const file = path.join(tmp, `${name}.clean`);
    await writePartnerB(file, { day: "2026-12-06", rows, startId });
    const buf = readFileSync(file);
    let start = 0;
    for (let i = 1; i < line; i++) start = buf.indexOf(0x0a, start) + 1;
    const end = buf.indexOf(0x0a, start);
    const fields = buf.subarray(start, end).toString("utf8").split(",");
    const content = Buffer.concat([
      buf.subarray(0, start),
      Buffer.from(`${fields.slice(0, 2).join(",")},Ab`),
      Buffer.from(bytes),
      Buffer.from(`cd,${fields.slice(3).join(",")}`),
      buf.subarray(end),
    ]);
    return { content, offset: start };
  }

  /** Lines `from`..`to` of an import that are neither staged nor rejected (none, when every row is accounted for). */
  async function unaccounted(importId: string, from: number, to: number): Promise<number[]> {
    const { rows } = await platform.pool.query<{ line: number }>(
      `SELECT g::int AS line FROM generate_series($2::int, $3::int) g
        WHERE NOT EXISTS (SELECT 1 FROM staging_mortgages s WHERE s.import_id = $1 AND s.source_row = g)
          AND NOT EXISTS (SELECT 1 FROM import_rejects r WHERE r.import_id = $1 AND r.row_number = g)`,
      [importId, from, to],
    );
    return rows.map((r) => r.line);
  }

  it("rejects a line with a Latin-1 byte past the first 64 KB by its line number; never a replacement character", async () => {
    const { content, offset } = await damaged("latin1", 1500, 1200, [0xe9], 610_000);
    expect(offset).toBeGreaterThan(64 * 1024);
    const row = await ingest("partner-b-mortgages-latin1-past-64k.csv", content);
    expect(row.status).toBe("COMPLETE_WITH_ERRORS");
    expect(row.rows_read).toBe(1500);
    expectAccounted(row);
    expect(await unaccounted(row.id, 2, 1501)).toEqual([]);
    const bad = (await rejects(row.id)).find((r) => r.row_number === 1200);
    expect(bad).toMatchObject({
      error_type: "parse",
      error_message: expect.stringMatching(/^unreadable line: not UTF-8 text: byte 0xE9 at byte \d+ of the line$/),
    });
    expect(bad!.field_value).toContain("Ab\\xE9cd");
    const {
      rows: [n],
    } = await platform.pool.query(
      "SELECT count(*)::int AS replaced FROM mortgages WHERE import_id = $1 AND borrower_last_name LIKE '%' || chr(65533) || '%'",
      [row.id],
    );
    expect(n!.replaced).toBe(0);
  });

  it("rejects the row with a NUL byte by its line number and lands the rest of the file", async () => {
    const { content } = await damaged("nul", 1200, 900, [0x00], 620_000);
    const row = await ingest("partner-b-mortgages-nul-row-900.csv", content);
    expect(row.status).toBe("COMPLETE_WITH_ERRORS");
    expect(row.rows_read).toBe(1200);
    expectAccounted(row);
    const all = await rejects(row.id);
    expect(all.find((r) => r.row_number === 900)).toMatchObject({
      error_type: "parse",
      error_message: expect.stringMatching(/a NUL byte at byte \d+ of the line/),
    });
    // Every line of the file (2 to 1201) was read and judged, those after the NUL included.
    expect(await unaccounted(row.id, 2, 1201)).toEqual([]);
  });

  it("refuses a strict source's file (do-not-call registry) at the line, before any row lands", async () => {
    const lines = Array.from({ length: 8000 }, (_, i) => `512555${String(i).padStart(4, "0")}`);
    const content = Buffer.concat([
      Buffer.from(lines.slice(0, 6999).join("\n") + "\n"),
      Buffer.from([0x35, 0x31, 0xe9, 0x0a]),
      Buffer.from(lines.slice(7000).join("\n") + "\n"),
    ]);
    const row = await ingest("dnc-additions-2026-12-06-latin1.txt", content);
    expect(row.status).toBe("FAILED");
    expect(row.status_reason).toMatch(
      /line 7000: not UTF-8 text: byte 0xE9 at byte 3 of the line \(the source is strict/,
    );
    const {
      rows: [n],
    } = await platform.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM import_chunks WHERE import_id = $1 AND status = 'DONE'",
      [row.id],
    );
    expect(n!.n).toBe(0);
  });
});

describe("file names: any name S3 accepts lands or ends FAILED with a reason", () => {
  /** Puts `content` straight into the bucket at `key` (as a partner's upload would) and waits for its import. */
  async function putAndWait(key: string, content: string) {
    const file = path.join(tmp, "upload.csv");
    writeFileSync(file, content);
    const {
      rows: [last],
    } = await platform.pool.query<{ seq: string | null }>("SELECT max(seq) AS seq FROM imports");
    const dropped: Dropped = { file, key, afterSeq: Number(last?.seq ?? 0) };
    await platform.put(key, file);
    const [row] = await platform.waitFor([dropped]);
    return row!;
  }

  it("lands a 254-byte file name and a 1,024-byte key, and the endpoint serves the next file", async () => {
    const name254 = `partner-b-mortgages-2026-12-06-${"ü".repeat(109)}x.csv`;
    expect(Buffer.byteLength(name254)).toBe(254);
    const long = await ingest(name254, sampleVariant("N1"));
    expect(long).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      rows_read: 10,
      accepted: 6,
      rejected: 4,
      file_name: name254,
    });

    const head = "inbox/partner-b-mortgages/2026/12/06/partner-b-mortgages-";
    const room = 1024 - Buffer.byteLength(head) - 4;
    const key = head + "é".repeat(Math.floor(room / 2)) + "x".repeat(room % 2) + ".csv";
    expect(Buffer.byteLength(key)).toBe(1024);
    const longest = await putAndWait(key, sampleVariant("N2"));
    expect(longest).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 10, accepted: 6, object_key: key });

    const next = await ingest("partner-b-mortgages-2026-12-06-next.csv", sampleVariant("N3"));
    expect(next).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 10 });
  });

  it("ends a long name it cannot take FAILED with the reason, and its alert's subject is one SNS accepts", async () => {
    const name = `closings-of-nobody-2026-12-06\n${"ñ".repeat(100)}.csv`;
    expect(Buffer.byteLength(name)).toBe(234);
    const row = await ingest(name, sampleVariant("N4"));
    expect(row.status).toBe("FAILED");
    expect(row.status_reason).toMatch(/unknown source: no source spec matches/);
    expect(row.alert_status).toBe("SENT");
    const alert = platform.alerts.find((a) => a.message.includes(row.id));
    expect(alert!.subject).toMatch(/^leadpipe import FAILED: closings-of-nobody-2026-12-06 n+\.\.\.$/);
    expect(alert!.subject!.length).toBeLessThan(100);
  });
});

describe("the inbox watcher", () => {
  it("leaves a file it cannot land in the inbox, alerted once, and lands the others", async () => {
    const inbox = platform.paths.inbox;
    const badName = Buffer.concat([Buffer.from("partner-b-mortgages-caf"), Buffer.from([0xe9]), Buffer.from(".csv")]);
    writeFileSync(Buffer.concat([Buffer.from(inbox + path.sep), badName]), sampleVariant("W1"));
    writeFileSync(path.join(inbox, "partner-b-mortgages-2026-12-06-watched.csv"), sampleVariant("W2"));
    const alertsBefore = platform.alerts.length;

    const first = await platform.landInbox();
    expect(first.landed.map((d) => path.basename(d.file))).toEqual(["partner-b-mortgages-2026-12-06-watched.csv"]);
    expect(first.failed).toHaveLength(1);
    expect(first.failed[0]).toMatchObject({
      alerted: true,
      error: expect.stringMatching(/the file name is not UTF-8 text/),
    });
    const [landed] = await platform.waitFor(first.landed);
    expect(landed).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 10 });

    const second = await platform.landInbox();
    expect(second).toMatchObject({ landed: [], failed: [{ alerted: false }] });
    const inboxAlerts = platform.alerts
      .slice(alertsBefore)
      .filter((a) => a.subject?.startsWith("leadpipe inbox: could not land"));
    expect(inboxAlerts).toHaveLength(1);
    expect(inboxAlerts[0]!.subject).toBe("leadpipe inbox: could not land partner-b-mortgages-caf?.csv");
    // Still in the inbox, byte for byte; the landed one moved aside.
    const left = readdirSync(Buffer.from(inbox), { encoding: "buffer" }).filter((n) => n[0] !== 0x2e);
    expect(left.map((n) => n.toString("hex"))).toEqual([badName.toString("hex")]);
    expect(existsSync(path.join(inbox, "partner-b-mortgages-2026-12-06-watched.csv"))).toBe(false);
  });
});

describe("XLSX memory", () => {
  it("ends a workbook whose shared-strings table is over the cap FAILED with the reason, under the zip-bomb limits", async () => {
    const strings = manyStrings(100_000);
    const xlsx = workbook(strings, '<row r="1"><c r="A1" t="s"><v>0</v></c></row>');
    expect(strings.length / xlsx.length).toBeLessThan(200);
    const row = await ingest("partner-a-mortgages-2026-12-06-strings.xlsx", xlsx);
    expect(row).toMatchObject({ status: "FAILED", failed_step: "stage" });
    expect(row.status_reason).toMatch(
      new RegExp(`XLSX workbook rejected: its shared-strings table holds more than ${XLSX_CAP} bytes`),
    );
  });
});
