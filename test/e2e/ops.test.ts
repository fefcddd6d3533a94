import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { Import, createLogger, type Deps, type ObjectStore } from "@leadpipe/core";
import { createS3Client, s3Store } from "@leadpipe/core/adapters/s3";
import type { LocalPlatform } from "../../packages/local/src/platform";
import { writePartnerB } from "../../packages/local/src/generate/partner-b";
import { writePartnerC } from "../../packages/local/src/generate/partners";
import { splitRecords } from "../../packages/core/src/csv/records";
import { chunkDialect } from "../../packages/core/src/sources/spec";
import { partnerBMortgages } from "../../packages/core/src/sources/partner-b-mortgages";
import { formatDescription, localReports } from "../../packages/local/src/commands/status";
import { waitWithProgress } from "../../packages/local/src/commands/ingest";
import { replayImport } from "../../packages/local/src/commands/replay";
import { progressPrinter } from "../../packages/local/src/report";
import { usePlatform } from "../support/platform";

const sample = path.resolve(__dirname, "../../fixtures/sample-day/partner-b-mortgages-2026-11-20.csv");
const HEADER =
  "Loan Number,Borrower First,Borrower Last,Co-Borrower First,Co-Borrower Last,Property Address,Property City,Property State,Property Zip,Mailing Address,Mailing City,Mailing State,Mailing Zip,Loan Amount,Lender,Loan Type,Interest Rate,Closing Date,First Payment Date,Borrower Phone,Borrower Email";
let platform: LocalPlatform;
let tmp: string;
/** Runs before each Task state; tests set it to act at a known point of an execution. */
let beforeTask: ((state: string) => Promise<void> | void) | undefined;
const faults = () => process.env.LEADPIPE_FAULTS_DIR!;

async function ingest(file: string) {
  const d = await platform.drop(file);
  const [row] = await platform.waitFor([d]);
  return row!;
}

async function replay(importId: string, request: Import.ReplayRequest) {
  const result = (await platform.invoke("replay", { importId, ...request })) as Import.ReplayResult;
  const rows = result.replayId ? await platform.waitForImports([result.replayId]) : [];
  return { result, row: rows[0] };
}

async function object(key: string): Promise<string> {
  const r = await platform.s3.send(new GetObjectCommand({ Bucket: platform.bucket, Key: key }));
  return r.Body!.transformToString("utf8");
}

async function importRow(id: string) {
  return Import.getImport(platform.pool, id);
}

/** The business content of mortgages in an id range (lineage and timestamps excluded). */
async function mortgagesSnapshot(prefix: string) {
  const { rows } = await platform.pool.query(
    `SELECT mortgage_id, partner, borrower_first_name, borrower_last_name, property_address, property_zip5, property_zip4,
            loan_amount, closing_date, email FROM mortgages WHERE mortgage_id LIKE $1 ORDER BY mortgage_id`,
    [`${prefix}%`],
  );
  return rows;
}

function durationOf(row: Import.ImportRow): string {
  return ((row.finished_at!.getTime() - (row.started_at ?? row.created_at).getTime()) / 1000).toFixed(3);
}

usePlatform("leadpipe-ops-", { chunkRows: 100, beforeTask: (state) => beforeTask?.(state), faults: true }, (p, dir) => {
  platform = p;
  tmp = dir;
});

describe("reports", () => {
  let original: Import.ImportRow;

  it("fills the import's metadata and lineage", async () => {
    original = await ingest(sample);
    expect(original).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      file_name: "partner-b-mortgages-2026-11-20.csv",
      source: "partner-b-mortgages",
      partner: "B",
      kind: "mortgages",
      schema_version: 1,
      size_bytes: statSync(sample).size,
      uploaded_by: os.userInfo().username,
      chunks_total: 1,
      chunks_done: 1,
      rows_read: 10,
      accepted: 6,
      rejected: 4,
    });
    expect(original.object_key).toMatch(
      /^inbox\/partner-b-mortgages\/\d{4}\/\d{2}\/\d{2}\/partner-b-mortgages-2026-11-20\.csv$/,
    );
    expect(original.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(original.uploaded_at).toBeInstanceOf(Date);
    expect(Object.keys(original.step_timings).sort()).toEqual(["checksum", "finalize", "process", "stage", "validate"]);
    for (const t of Object.values(original.step_timings)) expect(t.ms).toBeGreaterThanOrEqual(0);
    // Every staged and core row leads back to its import and its line in the file.
    const staged = await platform.pool.query(
      "SELECT source_row, mortgage_id FROM staging_mortgages WHERE import_id = $1 ORDER BY source_row",
      [original.id],
    );
    expect(staged.rows).toEqual(
      [2, 3, 4, 5, 7, 12].map((line, i) => ({ source_row: line, mortgage_id: `B-1000${i < 5 ? `0${i + 1}` : "10"}` })),
    );
    const core = await platform.pool.query(
      "SELECT mortgage_id, source_row FROM mortgages WHERE import_id = $1 ORDER BY source_row",
      [original.id],
    );
    expect(core.rows).toEqual(staged.rows.map((r) => ({ mortgage_id: r.mortgage_id, source_row: r.source_row })));
  });

  it("writes the success report, the error report and the validation checklist", async () => {
    expect(original.reports_prefix).toBe(`reports/${original.id}/`);
    expect(await object(`reports/${original.id}/success.csv`)).toBe(
      "import_id,filename,total_rows,inserted,updated,skipped,errors,duration_sec,status\n" +
        `${original.id},partner-b-mortgages-2026-11-20.csv,10,6,0,0,4,${durationOf(original)},COMPLETE_WITH_ERRORS\n`,
    );
    expect(await object(`reports/${original.id}/errors.csv`)).toBe(
      [
        "row_number,error_type,field_name,field_value,error_message",
        "8,validation,Loan Amount,not-a-number,expected an amount like 312500.00",
        "9,validation,Borrower First,,required value is missing",
        "10,validation,Closing Date,13/45/2026,expected a date as MM/DD/YYYY",
        '11,parse,,,"unparsable line: expected 21 fields, found 16"',
        "",
      ].join("\n"),
    );
    expect(JSON.parse(await object(`reports/${original.id}/checklist.json`))).toEqual({
      import_id: original.id,
      file: "partner-b-mortgages-2026-11-20.csv",
      source: "partner-b-mortgages",
      schema_version: 1,
      status: "COMPLETE_WITH_ERRORS",
      checks: {
        file_readable: { status: "pass" },
        schema_matches: { status: "pass" },
        required_fields_present: { status: "fail", rows: 1, fields: { "Borrower First": 1 } },
        row_count_matches_file: { status: "pass", rows_in_file: 10, rows_read: 10, accepted: 6, rejected: 4 },
        duplicate_rows_in_batch: { status: "pass", rows: 0, key: ["mortgage_id"] },
        invalid_values_by_kind: {
          status: "fail",
          rows: 4,
          kinds: [
            {
              error_type: "parse",
              field_name: null,
              error_message: "unparsable line: expected 21 fields, found 16",
              rows: 1,
            },
            {
              error_type: "validation",
              field_name: "Borrower First",
              error_message: "required value is missing",
              rows: 1,
            },
            {
              error_type: "validation",
              field_name: "Closing Date",
              error_message: "expected a date as MM/DD/YYYY",
              rows: 1,
            },
            {
              error_type: "validation",
              field_name: "Loan Amount",
              error_message: "expected an amount like 312500.00",
              rows: 1,
            },
          ],
        },
        data_types_valid: { status: "fail", rows: 2, fields: { "Closing Date": 1, "Loan Amount": 1 } },
      },
      overall_status: "warn",
    });
  });

  it("reports a file sent again as a DUPLICATE too", async () => {
    const row = await ingest(sample);
    expect(row).toMatchObject({ status: "DUPLICATE", duplicate_of: original.id, reports_prefix: `reports/${row.id}/` });
    expect(await object(`reports/${row.id}/success.csv`)).toBe(
      "import_id,filename,total_rows,inserted,updated,skipped,errors,duration_sec,status\n" +
        `${row.id},partner-b-mortgages-2026-11-20.csv,0,0,0,0,0,${durationOf(row)},DUPLICATE\n`,
    );
    expect(await object(`reports/${row.id}/errors.csv`)).toBe(
      "row_number,error_type,field_name,field_value,error_message\n",
    );
  });

  it("neutralizes formula injection in rejected values and counts duplicate keys in the batch", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-12-01.csv");
    const good = (id: string) =>
      `${id},Ann,Lee,,,1 Main St,Austin,TX,78745,,,,,"$100,000.00",Bank,CONV,6.0,11/14/2026,01/01/2027,,`;
    writeFileSync(
      file,
      [
        HEADER,
        good("B-700001"),
        good("B-700001"),
        `B-700002,Ann,Lee,,,1 Main St,Austin,TX,78745,,,,,"=HYPERLINK(""http://evil.example"",""x"")",Bank,CONV,6.0,11/14/2026,01/01/2027,,`,
        `B-700003,Ann,Lee,,,1 Main St,Austin,TX,78745,,,,,"$100,000.00",Bank,CONV,6.0,@SUM(A1),01/01/2027,,`,
        "",
      ].join("\n"),
    );
    const row = await ingest(file);
    expect(row).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 4, accepted: 2, rejected: 2, inserted: 1 });
    expect(await object(`reports/${row.id}/errors.csv`)).toBe(
      [
        "row_number,error_type,field_name,field_value,error_message",
        `4,validation,Loan Amount,"'=HYPERLINK(""http://evil.example"",""x"")",expected an amount like 312500.00`,
        "5,validation,Closing Date,'@SUM(A1),expected a date as MM/DD/YYYY",
        "",
      ].join("\n"),
    );
    const checklist = JSON.parse(await object(`reports/${row.id}/checklist.json`)) as Import.Checklist;
    expect(checklist.checks.duplicate_rows_in_batch).toEqual({ status: "warn", rows: 1, key: ["mortgage_id"] });
  });

  it("counts duplicate keys across chunks as well as inside one", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-12-02.csv");
    const good = (id: string) =>
      `${id},Ann,Lee,,,1 Main St,Austin,TX,78745,,,,,"$100,000.00",Bank,CONV,6.0,11/14/2026,01/01/2027,,`;
    // 150 rows in chunks of 100: row 5 repeats row 3 (same chunk), row 120 repeats row 1 (the next chunk).
    const ids = Array.from({ length: 150 }, (_, i) => `B-71${String(i).padStart(4, "0")}`);
    ids[4] = ids[2]!;
    ids[119] = ids[0]!;
    writeFileSync(file, [HEADER, ...ids.map(good), ""].join("\n"));
    const row = await ingest(file);
    expect(row).toMatchObject({ status: "COMPLETE", rows_read: 150, accepted: 150, inserted: 148 });
    const checklist = JSON.parse(await object(`reports/${row.id}/checklist.json`)) as Import.Checklist;
    expect(checklist.checks.duplicate_rows_in_batch).toEqual({ status: "warn", rows: 2, key: ["mortgage_id"] });
  });
});

describe("replay", () => {
  let original: Import.ImportRow;
  const fixedFile = () => path.join(tmp, "fixed.csv");

  beforeAll(async () => {
    original = (
      await platform.pool.query<Import.ImportRow>(
        "SELECT * FROM imports WHERE file_name = 'partner-b-mortgages-2026-11-20.csv' AND replay_of IS NULL AND status <> 'DUPLICATE'",
      )
    ).rows[0]!;
    writeFileSync(
      fixedFile(),
      [
        `row_number,${HEADER}`,
        `8,B-100006,Kevin,Nguyen,,,7 Harbor View Ln,Seattle,WA,98101,,,,,"$150,000.00",Emerald Lending,CONV,6.0,11/16/2026,01/01/2027,206-555-0175,kevin.nguyen@example.com`,
        '9,B-100007,Olivia,Johnson,,,12 Pine Ct,Denver,CO,80202,,,,,"$350,000.00",Rocky Mountain Mortgage,CONV,6.375,11/17/2026,01/01/2027,303-555-0190,',
        '10,B-100008,Ava,Williams,,,88 Lakeshore Dr,Chicago,IL,60611,,,,,"$275,000.00",Lakeside Bank,CONV,6.1,11/18/2026,01/01/2027,312-555-0111,ava.w@example.com',
        '11,B-100009,Noah,Brown,,,41 Cedar Ave,Miami,FL,33101,,,,,"$225,000.00",Sunshine Lending,CONV,6.0,11/18/2026,01/01/2027,,',
        "",
      ].join("\n"),
    );
  });

  it("errors-only under unchanged rules re-validates the stored rows: the same rows stay rejected, the original stays open", async () => {
    const { result, row } = await replay(original.id, { mode: "errors-only" });
    expect(result).toMatchObject({ original: original.id, mode: "errors-only", rows: 4 });
    expect(row).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      replay_of: original.id,
      replay_mode: "errors-only",
      lineage_seq: original.seq,
      rows_read: 4,
      accepted: 0,
      rejected: 4,
      file_name: original.file_name,
    });
    const rejects = await platform.pool.query(
      "SELECT row_number, field_name FROM import_rejects WHERE import_id = $1 ORDER BY 1",
      [row!.id],
    );
    expect(rejects.rows).toEqual([
      { row_number: 8, field_name: "Loan Amount" },
      { row_number: 9, field_name: "Borrower First" },
      { row_number: 10, field_name: "Closing Date" },
      { row_number: 11, field_name: null },
    ]);
    expect(await importRow(original.id)).toMatchObject({ status: "COMPLETE_WITH_ERRORS" });
  });

  it("refuses a corrected file naming a row that was not rejected, and changes nothing", async () => {
    const bad = path.join(tmp, "bad-fix.csv");
    writeFileSync(
      bad,
      `row_number,${HEADER}\n3,B-100002,James,O'Brien,,,1 Elm St,Boston,MA,02116,,,,,"$1.00",X,CONV,5,11/14/2026,,,\n`,
    );
    await platform.put("replays/uploads/bad-fix.csv", bad);
    const before = await platform.pool.query("SELECT count(*)::int AS n FROM imports");
    await expect(
      platform.invoke("replay", {
        importId: original.id,
        mode: "errors-only",
        fixedKey: "replays/uploads/bad-fix.csv",
      }),
    ).rejects.toThrow(
      "bad-fix.csv cannot be replayed (1 problem(s), 2 line(s)): line 2: row 3 of partner-b-mortgages-2026-11-20.csv was not rejected",
    );
    expect((await platform.pool.query("SELECT count(*)::int AS n FROM imports")).rows).toEqual(before.rows);
  });

  it("errors-only with the corrected rows brings the import to COMPLETE and the totals reconcile across the runs", async () => {
    await platform.put("replays/uploads/fixed.csv", fixedFile());
    const { result, row } = await replay(original.id, { mode: "errors-only", fixedKey: "replays/uploads/fixed.csv" });
    expect(result).toMatchObject({ rows: 4, alreadyResolved: [] });
    expect(row).toMatchObject({
      status: "COMPLETE",
      replay_of: original.id,
      rows_read: 4,
      accepted: 4,
      rejected: 0,
      inserted: 4,
      updated: 0,
      unchanged: 0,
    });
    expect(await importRow(original.id)).toMatchObject({
      status: "COMPLETE",
      rows_read: 10,
      accepted: 6,
      rejected: 4,
      status_reason: `all 4 rejected rows re-ingested by errors-only replay (latest ${row!.id})`,
    });
    const rec = await platform.pool.query("SELECT * FROM import_replay_reconciliation WHERE import_id = $1", [
      original.id,
    ]);
    expect(rec.rows[0]).toMatchObject({
      rows_read: 10,
      accepted: 6,
      rejected: 4,
      replays: 2,
      replay_rows_read: 8,
      replay_accepted: 4,
      replay_rejected: 4,
      resolved_by_replays: 4,
      outstanding_rejects: 0,
    });
    expect(rec.rows[0].rows_read).toBe(
      rec.rows[0].accepted + rec.rows[0].resolved_by_replays + rec.rows[0].outstanding_rejects,
    );
    // The replayed rows carry the replay's id and their line in the original file.
    const core = await platform.pool.query(
      "SELECT mortgage_id, import_id, source_row, loan_amount, borrower_first_name, closing_date FROM mortgages WHERE mortgage_id IN ('B-100006','B-100007','B-100008','B-100009') ORDER BY 1",
    );
    expect(core.rows).toEqual([
      {
        mortgage_id: "B-100006",
        import_id: row!.id,
        source_row: 8,
        loan_amount: "150000.00",
        borrower_first_name: "Kevin",
        closing_date: "2026-11-16",
      },
      {
        mortgage_id: "B-100007",
        import_id: row!.id,
        source_row: 9,
        loan_amount: "350000.00",
        borrower_first_name: "Olivia",
        closing_date: "2026-11-17",
      },
      {
        mortgage_id: "B-100008",
        import_id: row!.id,
        source_row: 10,
        loan_amount: "275000.00",
        borrower_first_name: "Ava",
        closing_date: "2026-11-18",
      },
      {
        mortgage_id: "B-100009",
        import_id: row!.id,
        source_row: 11,
        loan_amount: "225000.00",
        borrower_first_name: "Noah",
        closing_date: "2026-11-18",
      },
    ]);
    expect(await object(`reports/${row!.id}/success.csv`)).toBe(
      "import_id,filename,total_rows,inserted,updated,skipped,errors,duration_sec,status\n" +
        `${row!.id},partner-b-mortgages-2026-11-20.csv,4,4,0,0,0,${durationOf(row!)},COMPLETE\n`,
    );
  });

  it("replaying again changes nothing: no rows left, and the corrected file's rows are already in", async () => {
    const snapshot = await mortgagesSnapshot("B-1000");
    const imports = (await platform.pool.query("SELECT count(*)::int AS n FROM imports")).rows[0].n;
    const again = await replay(original.id, { mode: "errors-only", fixedKey: "replays/uploads/fixed.csv" });
    expect(again.result).toEqual({
      replayId: null,
      original: original.id,
      mode: "errors-only",
      rows: 0,
      alreadyResolved: [],
      message: `nothing to replay: import ${original.id} has no rejected rows left`,
    });
    expect((await platform.pool.query("SELECT count(*)::int AS n FROM imports")).rows[0].n).toBe(imports);
    expect(await mortgagesSnapshot("B-1000")).toEqual(snapshot);
  });

  it("errors-only after the chunk objects expired re-reads the records stored with the rejects, quoting intact", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-12-02.csv");
    writeFileSync(
      file,
      [
        HEADER,
        `B-710001,Ann,Lee,,,"22 Elm St, Apt 4B",Austin,TX,78745,,,,,"$100,000.00",Bank,CONV,6.0,11/14/2026,01/01/2027,,`,
        `B-710002,Bo,Lee,,,"19 ""The Willows"" Rd, Unit 2",Austin,TX,78745,,,,,TBD,Bank,CONV,6.0,11/14/2026,01/01/2027,,`,
        `B-710003,,Lee,,,"1 Main St, Fl 3",Austin,TX,78745,,,,,"$90,000.00",Bank,CONV,6.0,11/14/2026,01/01/2027,,`,
        "",
      ].join("\n"),
    );
    const first = await ingest(file);
    expect(first).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 3, rejected: 2 });
    await platform.s3.send(new DeleteObjectCommand({ Bucket: platform.bucket, Key: Import.chunkKey(first.id, 0) }));
    const { result, row } = await replay(first.id, { mode: "errors-only" });
    expect(result.rows).toBe(2);
    expect(row).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 2, accepted: 0, rejected: 2 });
    const rejectsOf = async (id: string) =>
      (
        await platform.pool.query(
          "SELECT row_number, error_type, field_name, field_value, error_message FROM import_rejects WHERE import_id = $1 ORDER BY 1",
          [id],
        )
      ).rows;
    expect(await rejectsOf(row!.id)).toEqual(await rejectsOf(first.id));
    expect(await rejectsOf(row!.id)).toEqual([
      {
        row_number: 3,
        error_type: "validation",
        field_name: "Loan Amount",
        field_value: "TBD",
        error_message: "expected an amount like 312500.00",
      },
      {
        row_number: 4,
        error_type: "validation",
        field_name: "Borrower First",
        field_value: "",
        error_message: "required value is missing",
      },
    ]);
  });

  it("a replay whose execution cannot be started ends FAILED (never left PENDING) and the next replay goes ahead", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-12-03.csv");
    await writePartnerB(file, { day: "2026-12-03", rows: 20, startId: 720_000 });
    const first = await ingest(file);
    platform.failStarts(100);
    try {
      await expect(platform.invoke("replay", { importId: first.id, mode: "full" })).rejects.toThrow(
        "Step Functions unavailable (injected)",
      );
    } finally {
      platform.failStarts(0);
    }
    const stuck = (
      await platform.pool.query("SELECT status, status_reason FROM imports WHERE replay_of = $1", [first.id])
    ).rows;
    expect(stuck).toEqual([
      {
        status: "FAILED",
        status_reason: "the replay's execution could not be started: Step Functions unavailable (injected)",
      },
    ]);
    const { row } = await replay(first.id, { mode: "full" });
    expect(row).toMatchObject({ status: "COMPLETE", rows_read: 20, unchanged: 20 });
  });

  it("full re-runs the landed file as a new import whose result equals a clean run", async () => {
    const snapshot = await mortgagesSnapshot("B-1000");
    const { result, row } = await replay(original.id, { mode: "full" });
    expect(result).toMatchObject({ original: original.id, mode: "full", rows: null });
    expect(row).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      replay_of: original.id,
      replay_mode: "full",
      object_key: original.object_key,
      rows_read: 10,
      accepted: 6,
      rejected: 4,
      inserted: 0,
      updated: 0,
      unchanged: 6,
    });
    expect(await mortgagesSnapshot("B-1000")).toEqual(snapshot);
    expect(await importRow(original.id)).toMatchObject({ status: "COMPLETE" });
  });
});

describe("staging", () => {
  it("never holds more than two chunk uploads in flight when it rewrites a file (Windows-1252), and reading waits for them", async () => {
    const file = path.join(tmp, "partner-c-mortgages-2026-08-01.csv");
    await writePartnerC(file, { day: "2026-08-01", rows: 3_000 });
    const key = `bench/${path.basename(file)}`;
    await platform.put(key, file);
    const { importId } = await Import.register(platform.pool, {
      bucket: platform.bucket,
      key,
      eventKey: "memory-test",
    });
    const real = s3Store(createS3Client(process.env.S3_ENDPOINT));
    let read = 0;
    let written = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    let maxChunk = 0;
    let maxAhead = 0;
    // A slow store: each chunk upload takes 20 ms, so a reader that did not wait would run far ahead.
    const store: ObjectStore = {
      head: real.head,
      read: async (bucket, k, range) =>
        (await real.read(bucket, k, range)).on("data", (part: Buffer) => {
          read += part.length;
          maxAhead = Math.max(maxAhead, read - written);
        }),
      write: async (bucket, k, body, type) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        maxChunk = Math.max(maxChunk, (body as Buffer).length);
        await new Promise((r) => setTimeout(r, 20));
        await real.write(bucket, k, body, type);
        written += (body as Buffer).length;
        inFlight--;
      },
    };
    const deps: Deps = {
      pool: platform.pool,
      store,
      notifier: { alert: async () => undefined },
      log: createLogger({}, () => undefined),
      settings: { bucket: platform.bucket, chunkRows: 100, maxFileBytes: 1 << 30 },
    };
    const { chunks } = await Import.stage(deps, importId);
    expect(chunks.length).toBe(30);
    expect(chunks.every((c) => c.range === undefined)).toBe(true);
    expect(read).toBe(statSync(file).size);
    expect(maxInFlight).toBe(2);
    // Unwritten bytes never exceed the two uploads in flight, the chunk being cut and one read part.
    expect(maxAhead).toBeLessThanOrEqual(3 * maxChunk + 64 * 1024);
  });

  /** Registers `file` under bench/ and returns deps that count what Stage writes. */
  async function registered(file: string, eventKey: string) {
    const key = `bench/${path.basename(file)}`;
    await platform.put(key, file);
    const real = s3Store(createS3Client(process.env.S3_ENDPOINT));
    const { etag } = await real.head(platform.bucket, key);
    const { importId } = await Import.register(platform.pool, {
      bucket: platform.bucket,
      key,
      eventKey,
      ...(etag ? { etag } : {}),
    });
    const writes: string[] = [];
    const store: ObjectStore = {
      ...real,
      write: async (bucket, k, body, type) => {
        writes.push(k);
        await real.write(bucket, k, body, type);
      },
    };
    const deps: Deps = {
      pool: platform.pool,
      store,
      notifier: { alert: async () => undefined },
      log: createLogger({}, () => undefined),
      settings: { bucket: platform.bucket, chunkRows: 100, maxFileBytes: 1 << 30 },
    };
    return { key, importId, deps, writes };
  }

  it("leaves UTF-8 text where it is: its chunks are byte ranges that read as the file's records with their lines", async () => {
    // A byte-order mark, CRLF line ends, blank lines, quoted fields with line breaks and quotes.
    const row = (i: number) => {
      const street = i % 7 === 0 ? `"${i} Elm St\r\nApt ""${i}"""` : `${i} Elm St`;
      return `B-72${String(i).padStart(4, "0")},Ann,Lee,,,${street},Austin,TX,78745,,,,,"$100,000.00",Bank,CONV,6.0,11/14/2026,01/01/2027,,`;
    };
    const lines = [HEADER];
    for (let i = 1; i <= 250; i++) lines.push(...(i % 45 === 0 ? ["", row(i)] : [row(i)]));
    const text = "\uFEFF" + lines.join("\r\n") + "\r\n\r\n";
    const file = path.join(tmp, "partner-b-mortgages-2026-08-02.csv");
    writeFileSync(file, text);
    const { importId, deps, writes } = await registered(file, "range-test");
    const { chunks } = await Import.stage(deps, importId);
    expect(writes).toEqual([]);
    expect(chunks.map((c) => c.records)).toEqual([100, 100, 50]);
    expect(chunks.every((c) => c.range !== undefined)).toBe(true);
    // What the chunk objects held: the header after __source_line, then each record after its line.
    const records = splitRecords(Buffer.from(text.slice(1), "utf8"));
    const expected = (i: number) =>
      [
        `${Import.LINE_COLUMN},${records[0]!.record}`,
        ...records.slice(1 + 100 * i, 1 + 100 * (i + 1)).map((r) => `${r.line},${r.record}`),
      ].join("\n") + "\n";
    const imp = (await platform.pool.query<Import.ImportRow>("SELECT * FROM imports WHERE id = $1", [importId]))
      .rows[0]!;
    for (const c of chunks)
      expect((await Import.chunkText(deps, imp, c, chunkDialect(partnerBMortgages.reader))).toString("utf8")).toBe(
        expected(c.index),
      );
    // Checksum plans the same ranges as it hashes the file, and Stage then does not read the file again.
    const planned = await registered(file, "range-test-planned");
    await Import.checksum(planned.deps, planned.importId);
    let wholeReads = 0;
    const read: ObjectStore["read"] = (bucket, k, range, version) => {
      if (!range) wholeReads++;
      return planned.deps.store.read(bucket, k, range, version);
    };
    expect(
      (await Import.stage({ ...planned.deps, store: { ...planned.deps.store, read } }, planned.importId)).chunks,
    ).toEqual(chunks);
    expect(wholeReads).toBe(0);
    // 250 rows after the header, 35 of them (rows 7, 14 … 245 before row 250) two lines long, 5 blank lines.
    expect(records.at(-1)!.line).toBe(1 + 250 + 35 + 5);
    const counts = await Import.processChunk(deps, importId, chunks[2]!);
    expect(counts).toMatchObject({ rows_read: 50, accepted: 50, rejected: 0 });
    const staged = await platform.pool.query<{ source_row: string; property_address: string }>(
      "SELECT source_row, property_address FROM staging_mortgages WHERE import_id = $1 ORDER BY source_row",
      [importId],
    );
    expect(staged.rows.map((r) => Number(r.source_row))).toEqual(records.slice(201).map((r) => r.line));
    expect(staged.rows.find((r) => r.property_address.includes("Apt"))?.property_address).toBe('203 Elm St Apt "203"');
  });

  it("fails a chunk of a file that was replaced after Stage read it, saying so", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-08-03.csv");
    await writePartnerB(file, { day: "2026-08-03", rows: 150 });
    const { key, importId, deps } = await registered(file, "replaced-test");
    const { chunks } = await Import.stage(deps, importId);
    const other = path.join(tmp, "other.csv");
    await writePartnerB(other, { day: "2026-08-04", rows: 150 });
    await platform.put(key, other);
    await expect(Import.processChunk(deps, importId, chunks[1]!)).rejects.toThrow(
      /was replaced while it was being imported/,
    );
  });
});

describe("status and progress", () => {
  it("describes one import in full: reports, rejects by reason, replays, totals across runs, the replay command", async () => {
    const original = (
      await platform.pool.query<Import.ImportRow>(
        "SELECT * FROM imports WHERE file_name = 'partner-b-mortgages-2026-11-20.csv' AND replay_of IS NULL AND status <> 'DUPLICATE'",
      )
    ).rows[0]!;
    const d = await Import.describe(platform.pool, original.id);
    const at = (f: string) => `s3://${platform.bucket}/reports/${original.id}/${f}`;
    expect(d.reports).toEqual({
      success: at("success.csv"),
      errors: at("errors.csv"),
      checklist: at("checklist.json"),
    });
    expect(d.progress).toMatchObject({ chunks_done: 1, chunks_total: 1, rows_done: 10, rows_total: 10 });
    expect(d.rejects).toEqual([
      {
        error_type: "parse",
        field_name: null,
        error_message: "unparsable line: expected 21 fields, found 16",
        rows: 1,
        resolved: 1,
      },
      {
        error_type: "validation",
        field_name: "Borrower First",
        error_message: "required value is missing",
        rows: 1,
        resolved: 1,
      },
      {
        error_type: "validation",
        field_name: "Closing Date",
        error_message: "expected a date as MM/DD/YYYY",
        rows: 1,
        resolved: 1,
      },
      {
        error_type: "validation",
        field_name: "Loan Amount",
        error_message: "expected an amount like 312500.00",
        rows: 1,
        resolved: 1,
      },
    ]);
    expect(d.replays.map((r) => [r.mode, r.status, r.rows_read, r.accepted, r.rejected])).toEqual([
      ["errors-only", "COMPLETE_WITH_ERRORS", 4, 0, 4],
      ["errors-only", "COMPLETE", 4, 4, 0],
      ["full", "COMPLETE_WITH_ERRORS", 10, 6, 4],
    ]);
    expect(d.reconciliation).toEqual({ rows_read: 10, accepted: 6, resolved_by_replays: 4, outstanding_rejects: 0 });
    expect(d.replay_command).toBe(`npx leadpipe replay ${original.id} --mode full`);
    // The reports as plain files under LEADPIPE_HOME, mirrored by the platform when Finalize wrote them.
    await platform.mirrored();
    const local = localReports(d, platform.paths.root);
    const mirrored = (f: string) => path.join(platform.paths.root, "reports", original.id, f);
    expect(local).toEqual({
      success: mirrored("success.csv"),
      errors: mirrored("errors.csv"),
      checklist: mirrored("checklist.json"),
    });
    for (const f of ["success.csv", "errors.csv", "checklist.json"]) {
      expect(readFileSync(mirrored(f), "utf8"), f).toBe(await object(`reports/${original.id}/${f}`));
    }
    const text = formatDescription(d, local).split("\n");
    expect(text).toContain(
      "rows         read 10 = accepted 6 + rejected 4; accepted = inserted 6 + updated 0 + unchanged 0",
    );
    expect(text).toContain("across runs  read 10 = accepted 6 + re-ingested by replays 4 + still rejected 0");
    expect(text).toContain(`reports      ${at("success.csv")}  ${mirrored("success.csv")}`);
    expect(text).toContain(`             ${at("checklist.json")}  ${mirrored("checklist.json")}`);
    // `leadpipe status <id> --json` in another terminal while the platform runs.
    const bin = path.resolve(__dirname, "../../packages/local/bin/leadpipe.js");
    const cli = spawnSync(process.execPath, ["--single-threaded-gc", bin, "status", original.id, "--json"], {
      env: { ...process.env, LEADPIPE_HOME: platform.paths.root },
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ reports: d.reports, local_reports: local });
    expect(text).toContain(
      "                   1 row(s)  validation  Loan Amount: expected an amount like 312500.00 (1 re-ingested)",
    );
    expect(text.find((l) => l.startsWith("steps"))).toMatch(
      /^steps +validate \d+ ms, checksum \d+ ms, stage \d+ ms, process \d+ ms, finalize \d+ ms$/,
    );
  });

  it("prints chunks, rows and rows/s while an import runs, from the progress the import row carries", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-09-01.csv");
    await writePartnerB(file, { day: "2026-09-01", rows: 250, startId: 590_000 });
    const lines: string[] = [];
    const [row] = await waitWithProgress(
      platform,
      (s) => lines.push(s),
      async (onProgress) => {
        const d = await platform.drop(file);
        return platform.waitFor([d], onProgress);
      },
    );
    expect(row).toMatchObject({ status: "COMPLETE", chunks_done: 3, chunks_total: 3 });
    const shown = lines.filter((l) => l.includes("file(s)")).map((l) => l.replace("\r\x1b[K", ""));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown[0]).toMatch(/^[01]\/1 file\(s\) · chunks \d\/[03] · rows [\d,]+\/[\d,]+ · [\d,]+ rows\/s · \d+ s$/);
    expect(lines.at(-1)).toBe("\r\x1b[K");
    const printer = progressPrinter(platform.pool, (s) => lines.push(s), 0);
    await printer.update([row!]);
    expect(lines.at(-1)).toMatch(/^\r\x1b\[K1\/1 file\(s\) · chunks 3\/3 · rows 250\/250 · [\d,]+ rows\/s · \d+ s$/);
  });

  it("leadpipe replay uploads the corrected file, waits, and reports the replay and its original", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-09-02.csv");
    writeFileSync(
      file,
      [
        HEADER,
        `B-580001,Ann,Lee,,,1 Main St,Austin,TX,78745,,,,,"$100,000.00",Bank,CONV,6.0,11/14/2026,01/01/2027,,`,
        `B-580002,Bo,Lee,,,1 Main St,Austin,TX,78745,,,,,TBD,Bank,CONV,6.0,11/14/2026,01/01/2027,,`,
        "",
      ].join("\n"),
    );
    const original = await ingest(file);
    expect(original).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rejected: 1 });
    const fixed = path.join(tmp, "fixed-2026-09-02.csv");
    writeFileSync(
      fixed,
      `row_number,${HEADER}\n3,B-580002,Bo,Lee,,,1 Main St,Austin,TX,78745,,,,,"$90,000.00",Bank,CONV,6.0,11/14/2026,01/01/2027,,\n`,
    );
    const out: string[] = [];
    const write = process.stdout.write;
    process.stdout.write = ((s: string) => out.push(s) > 0) as typeof process.stdout.write;
    try {
      const { result, row } = await replayImport(platform, original.id, {
        mode: "errors-only",
        file: fixed,
        json: true,
      });
      expect(result).toMatchObject({ original: original.id, rows: 1 });
      expect(row).toMatchObject({ status: "COMPLETE", rows_read: 1, inserted: 1 });
      expect(JSON.parse(out.join(""))).toEqual({
        ...result,
        replay: {
          import_id: row!.id,
          file: "partner-b-mortgages-2026-09-02.csv",
          source: "partner-b-mortgages",
          partner: "B",
          status: "COMPLETE",
          rows_read: 1,
          accepted: 1,
          rejected: 0,
          inserted: 1,
          updated: 0,
          unchanged: 0,
        },
      });
    } finally {
      process.stdout.write = write;
    }
    expect(await importRow(original.id)).toMatchObject({ status: "COMPLETE" });
    expect(
      (await platform.pool.query("SELECT loan_amount, source_row FROM mortgages WHERE mortgage_id = 'B-580002'")).rows,
    ).toEqual([{ loan_amount: "90000.00", source_row: 3 }]);
  });
});

/**
 * Ingests a generated file cleanly, forgets it, then ingests the same file again with faults
 * arranged: returns both imports and whether the data matched.
 */
async function cleanThenFaulty(day: string, startId: number, arrange: () => void) {
  const file = path.join(tmp, `partner-b-mortgages-${day}.csv`);
  await writePartnerB(file, { day, rows: 350, startId, badEvery: 50 });
  const prefix = `B-${String(startId).slice(0, 2)}`;
  const clean = await ingest(file);
  const cleanState = await mortgagesSnapshot(prefix);
  const rejectsOf = async (id: string) =>
    (
      await platform.pool.query(
        "SELECT row_number, field_name, error_message FROM import_rejects WHERE import_id = $1 ORDER BY 1, 2",
        [id],
      )
    ).rows;
  const cleanRejects = await rejectsOf(clean.id);
  await platform.pool.query("DELETE FROM mortgages WHERE mortgage_id LIKE $1", [`${prefix}%`]);
  await platform.pool.query("DELETE FROM staging_mortgages WHERE import_id = $1", [clean.id]);
  await platform.pool.query("DELETE FROM imports WHERE id = $1", [clean.id]);
  arrange();
  const faulty = await ingest(file);
  expect(readdirSync(faults())).toEqual([]);
  /** The data equals the clean run's; `id` (default the faulty import) holds the same rejects and staged rows. */
  return {
    clean,
    faulty,
    same: async (id = faulty.id) => {
      expect(await mortgagesSnapshot(prefix)).toEqual(cleanState);
      expect(await rejectsOf(id)).toEqual(cleanRejects);
      const staged = await platform.pool.query(
        "SELECT count(*)::int AS n, count(DISTINCT source_row)::int AS d FROM staging_mortgages WHERE import_id = $1",
        [id],
      );
      expect(staged.rows[0]).toEqual({ n: 343, d: 343 });
    },
  };
}

/** An import whose chunk fails permanently while the next `failingPublishes` SNS publishes fail. */
async function failWhileSnsFails(day: string, startId: number, failingPublishes: number) {
  const file = path.join(tmp, `partner-b-mortgages-${day}.csv`);
  await writePartnerB(file, { day, rows: 50, startId });
  writeFileSync(path.join(faults(), "process-chunk.after-copy.1.Error"), "");
  platform.failPublishes(failingPublishes);
  const alertsBefore = platform.alerts.length;
  const publishesBefore = platform.publishRequests;
  const row = await ingest(file);
  return { row, alerts: platform.alerts.slice(alertsBefore), publishes: platform.publishRequests - publishesBefore };
}

const COUNTS = {
  status: "COMPLETE_WITH_ERRORS",
  rows_read: 350,
  accepted: 343,
  rejected: 7,
  inserted: 343,
  updated: 0,
  unchanged: 0,
  chunks_total: 4,
  chunks_done: 4,
};

describe("fault injection", () => {
  it("the database connection dropped mid-chunk: the chunk's transaction is rolled back and retried, same data as a clean run", async () => {
    const run = await cleanThenFaulty("2026-10-01", 610_000, () => {
      writeFileSync(path.join(faults(), "process-chunk.after-copy.1.terminate-backend"), "");
    });
    expect(run.faulty).toMatchObject(COUNTS);
    await run.same();
  });

  it("a chunk worker killed: the chunk is retried on a new worker, same data as a clean run", async () => {
    const run = await cleanThenFaulty("2026-10-02", 620_000, () => {
      writeFileSync(path.join(faults(), "process-chunk.after-copy.2.exit"), "");
    });
    expect(run.faulty).toMatchObject(COUNTS);
    await run.same();
  });

  it("the S3 endpoint unavailable for a moment (while staging and while writing the reports): retried, same data as a clean run", async () => {
    const outages: string[] = [];
    const run = await cleanThenFaulty("2026-10-03", 630_000, () => {
      beforeTask = async (state) => {
        if ((state === "Stage" || state === "Finalize") && !outages.includes(state)) {
          outages.push(state);
          await platform.stopS3();
          setTimeout(() => void platform.startS3(), 700);
        }
      };
    });
    beforeTask = undefined;
    expect(outages).toEqual(["Stage", "Finalize"]);
    expect(run.faulty).toMatchObject(COUNTS);
    await run.same();
    expect(await object(`reports/${run.faulty.id}/success.csv`)).toContain(
      `${run.faulty.id},partner-b-mortgages-2026-10-03.csv,350,343,0,0,7,`,
    );
  });

  it("a chunk that fails for good: FAILED with an alert; a full replay then ends with the same data as a clean run", async () => {
    const run = await cleanThenFaulty("2026-10-06", 660_000, () => {
      writeFileSync(path.join(faults(), "process-chunk.after-copy.1.Error"), "");
    });
    expect(run.faulty).toMatchObject({ status: "FAILED", failed_step: "process", alert_status: "SENT" });
    const { row } = await replay(run.faulty.id, { mode: "full" });
    expect(row).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      replay_of: run.faulty.id,
      replay_mode: "full",
      rows_read: 350,
      accepted: 343,
      rejected: 7,
      updated: 0,
      chunks_total: 4,
      chunks_done: 4,
    });
    // Chunks the failed run committed are already in: the replay finds them unchanged.
    expect(row!.inserted! + row!.unchanged!).toBe(343);
    await run.same(row!.id);
    // The replay stands in for the failed import: the same file sent again is its DUPLICATE.
    const again = await ingest(path.join(tmp, "partner-b-mortgages-2026-10-06.csv"));
    expect(again, again.status_reason ?? "").toMatchObject({ status: "DUPLICATE", duplicate_of: row!.id });
  });

  it("an SNS publish that fails for a moment: the alert is retried and sent, the import FAILED with its reports", async () => {
    const { row, alerts, publishes } = await failWhileSnsFails("2026-10-04", 640_000, 2);
    expect(publishes).toBe(3);
    expect(row).toMatchObject({
      status: "FAILED",
      failed_step: "process",
      alert_status: "SENT",
      alert_error: null,
      status_reason: "Error: injected fault at process-chunk.after-copy",
      reports_prefix: `reports/${row.id}/`,
    });
    // The import's alert, then the execution-failure rule's (the execution ends in its Fail state).
    expect(alerts.map((a) => a.subject)).toEqual([
      "leadpipe import FAILED: partner-b-mortgages-2026-10-04.csv",
      `leadpipe execution FAILED: ${row.id}`,
    ]);
    expect(alerts.slice(0, 1).map((a) => ({ subject: a.subject, message: a.message }))).toEqual([
      {
        subject: "leadpipe import FAILED: partner-b-mortgages-2026-10-04.csv",
        message: [
          `Import ${row.id} FAILED.`,
          `File: s3://${platform.bucket}/${row.object_key}`,
          "Source: partner-b-mortgages (partner B)",
          "Step: process",
          "Error: Error: injected fault at process-chunk.after-copy",
          `Reports: s3://${platform.bucket}/reports/${row.id}/`,
          `Replay: npx leadpipe replay ${row.id} --mode full`,
        ].join("\n"),
      },
    ]);
    expect(await object(`reports/${row.id}/success.csv`)).toBe(
      "import_id,filename,total_rows,inserted,updated,skipped,errors,duration_sec,status\n" +
        `${row.id},partner-b-mortgages-2026-10-04.csv,50,0,0,0,0,${durationOf(row)},FAILED\n`,
    );
    expect(await object(`reports/${row.id}/errors.csv`)).toBe(
      "row_number,error_type,field_name,field_value,error_message\n,file,,,Error: injected fault at process-chunk.after-copy\n",
    );
    const checklist = JSON.parse(await object(`reports/${row.id}/checklist.json`)) as Import.Checklist;
    expect(checklist.overall_status).toBe("fail");
    expect(checklist.checks.row_count_matches_file).toEqual({
      status: "fail",
      rows_in_file: 50,
      rows_read: 0,
      accepted: 0,
      rejected: 0,
    });
    expect((await mortgagesSnapshot("B-64")).length).toBe(0);
  });

  it("an SNS publish that keeps failing: the import still ends FAILED, the failed alert is recorded and the execution failure is alerted", async () => {
    try {
      const { row, alerts, publishes } = await failWhileSnsFails("2026-10-05", 650_000, 1_000);
      expect(row).toMatchObject({ status: "FAILED", failed_step: "process", alert_status: "FAILED" });
      expect(row.alert_error).toBe("InternalErrorException: SNS unavailable (injected)");
      // 1 try + 3 p-retry retries, in each of the 4 attempts the ASL makes at MarkFailed.
      expect(publishes).toBe(16);
      // Only the execution-failure rule's alert got through (locally it does not go through the failing endpoint).
      expect(alerts.map((a) => a.subject)).toEqual([`leadpipe execution FAILED: ${row.id}`]);
      expect(alerts[0]!.message).toContain("publishing the failure alert: SNS unavailable (injected)");
    } finally {
      platform.failPublishes(0);
    }
  });
});
