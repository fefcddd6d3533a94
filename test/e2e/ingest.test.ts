import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { LocalPlatform } from "../../packages/local/src/platform";
import { writePartnerB } from "../../packages/local/src/generate/partner-b";
import { readOnlyQuery } from "../../packages/local/src/commands/sql";
import { usePlatform } from "../support/platform";

const sample = path.resolve(__dirname, "../../fixtures/sample-day/partner-b-mortgages-2026-11-20.csv");
let platform: LocalPlatform;
let tmp: string;
const faults = () => process.env.LEADPIPE_FAULTS_DIR!;

async function ingest(file: string, source?: string) {
  const d = await platform.drop(file, source);
  const [row] = await platform.waitFor([d]);
  return row!;
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

usePlatform("leadpipe-e2e-", { chunkRows: 100, faults: true }, (p, dir) => {
  platform = p;
  tmp = dir;
});

describe("partner B mortgages end to end", () => {
  it("rejects each bad row with its line, field and reason, lands the good rows, and reconciles", async () => {
    const row = await ingest(sample);
    expect(row).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      source: "partner-b-mortgages",
      partner: "B",
      rows_read: 10,
      accepted: 6,
      rejected: 4,
      inserted: 6,
      updated: 0,
      unchanged: 0,
    });
    expect(row.rows_read).toBe(row.accepted! + row.rejected!);
    expect(row.accepted).toBe(row.inserted! + row.updated! + row.unchanged!);
    const rejects = await platform.pool.query(
      "SELECT row_number, error_type, field_name, field_value, error_message FROM import_rejects WHERE import_id = $1 ORDER BY row_number",
      [row.id],
    );
    expect(rejects.rows).toEqual([
      {
        row_number: 8,
        error_type: "validation",
        field_name: "Loan Amount",
        field_value: "not-a-number",
        error_message: "expected an amount like 312500.00",
      },
      {
        row_number: 9,
        error_type: "validation",
        field_name: "Borrower First",
        field_value: "",
        error_message: "required value is missing",
      },
      {
        row_number: 10,
        error_type: "validation",
        field_name: "Closing Date",
        field_value: "13/45/2026",
        error_message: "expected a date as MM/DD/YYYY",
      },
      {
        row_number: 11,
        error_type: "parse",
        field_name: null,
        field_value: null,
        error_message: "unparsable line: expected 21 fields, found 16",
      },
    ]);
    const m = await platform.pool.query("SELECT * FROM mortgages WHERE mortgage_id = 'B-100002'");
    expect(m.rows[0]).toMatchObject({
      partner: "B",
      borrower_last_name: "O'Brien",
      property_address: "22 Elm St, Apt 4B",
      property_zip5: "02116",
      loan_amount: "545000.00",
      closing_date: "2026-11-14",
      email: "jobrien@example.com",
      import_id: row.id,
      source_row: 3,
    });
    const staged = await platform.pool.query("SELECT count(*)::int AS n FROM staging_mortgages WHERE import_id = $1", [
      row.id,
    ]);
    expect(staged.rows[0].n).toBe(6);
  });

  it("makes the borrowers and co-borrowers of the landed loans golden records (the people consumer, after the import)", async () => {
    await platform.peopleIdle();
    const {
      rows: [imp],
    } = await platform.pool.query("SELECT id FROM imports WHERE file_name = $1 AND status = 'COMPLETE_WITH_ERRORS'", [
      path.basename(sample),
    ]);
    const recs = await platform.pool.query(
      "SELECT source_kind, source_key, first_name, last_name, phone FROM person_records WHERE import_id = $1 ORDER BY source_key, source_kind",
      [imp.id],
    );
    expect(recs.rows.map((r) => [r.source_kind, r.source_key, r.first_name, r.last_name])).toEqual([
      ["mortgage-borrower", "B:B-100001", "Maria", "Gonzalez"],
      ["mortgage-co-borrower", "B:B-100001", "Luis", "Gonzalez"],
      ["mortgage-borrower", "B:B-100002", "James", "O'Brien"],
      ["mortgage-borrower", "B:B-100003", "Priya", "Patel"],
      ["mortgage-borrower", "B:B-100004", "Robert", "Van der Berg"],
      ["mortgage-co-borrower", "B:B-100004", "Anne", "Van der Berg"],
      ["mortgage-borrower", "B:B-100005", "Linda", "Smith-Jones"],
      ["mortgage-borrower", "B:B-100010", "Emma", "Davis"],
    ]);
    expect(recs.rows[0].phone).toBe("+15125550142");
    const resolved = await platform.pool.query(
      "SELECT records, created, attached, merged FROM people_resolutions WHERE import_id = $1",
      [imp.id],
    );
    expect(resolved.rows).toEqual([{ records: 8, created: 8, attached: 0, merged: 0 }]);
  });

  it("records the same file dropped again as a DUPLICATE and changes nothing", async () => {
    const before = await mortgagesSnapshot("B-1000");
    const row = await ingest(sample);
    expect(row.status).toBe("DUPLICATE");
    expect(row.status_reason).toMatch(/already imported as [0-9a-f-]{36}/);
    expect(await mortgagesSnapshot("B-1000")).toEqual(before);
  });

  it("turns the same S3 event delivered twice into one import", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-11-21.csv");
    await writePartnerB(file, { day: "2026-11-21", rows: 30, startId: 300_000 });
    const row = await ingest(file);
    expect(row.status).toBe("COMPLETE");
    const event = platform.notifications.at(-1);
    const replay = (await platform.invoke("trigger", event)) as { imports: string[] };
    expect(replay.imports).toEqual([row.id]);
    const n = await platform.pool.query("SELECT count(*)::int AS n FROM imports WHERE object_key = $1", [
      row.object_key,
    ]);
    expect(n.rows[0].n).toBe(1);
    expect(platform.executions.size).toBe(new Set(platform.executions.keys()).size);
  });

  it("retries a chunk that fails halfway (and a killed worker) and ends in the same state as a clean run", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-11-22.csv");
    await writePartnerB(file, { day: "2026-11-22", rows: 350, startId: 400_000, badEvery: 50 });
    const clean = await ingest(file);
    expect(clean).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 350, rejected: 7, inserted: 343 });
    const cleanState = await mortgagesSnapshot("B-4");
    const cleanRejects = (
      await platform.pool.query(
        "SELECT row_number, field_name, error_message FROM import_rejects WHERE import_id = $1 ORDER BY 1, 2",
        [clean.id],
      )
    ).rows;
    // Forget the clean run, then run the same file with faults injected.
    await platform.pool.query("DELETE FROM mortgages WHERE mortgage_id LIKE 'B-4%'");
    await platform.pool.query("DELETE FROM staging_mortgages WHERE import_id = $1", [clean.id]);
    await platform.pool.query("DELETE FROM imports WHERE id = $1", [clean.id]);
    writeFileSync(path.join(faults(), "process-chunk.after-copy.1.RetryableError"), "");
    writeFileSync(path.join(faults(), "process-chunk.before-commit.2.RetryableError"), "");
    writeFileSync(path.join(faults(), "process-chunk.after-copy.3.exit"), "");
    const faulty = await ingest(file);
    expect((await import("node:fs")).readdirSync(faults())).toEqual([]);
    expect(faulty).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      rows_read: 350,
      accepted: 343,
      rejected: 7,
      inserted: 343,
      updated: 0,
      unchanged: 0,
      chunks_total: 4,
      chunks_done: 4,
    });
    expect(await mortgagesSnapshot("B-4")).toEqual(cleanState);
    const staged = await platform.pool.query(
      "SELECT count(*)::int AS n, count(DISTINCT source_row)::int AS d FROM staging_mortgages WHERE import_id = $1",
      [faulty.id],
    );
    expect(staged.rows[0]).toEqual({ n: 343, d: 343 });
    expect(
      (
        await platform.pool.query(
          "SELECT row_number, field_name, error_message FROM import_rejects WHERE import_id = $1 ORDER BY 1, 2",
          [faulty.id],
        )
      ).rows,
    ).toEqual(cleanRejects);
  });

  it("counts a delivery in id order that mixes new, changed, unchanged and another partner's mortgages as each is", async () => {
    // Chunks in id order are first tried as all new: one that is not must fall back to the row-by-row upsert.
    const generated = path.join(tmp, "generated-mix.csv");
    await writePartnerB(generated, { day: "2026-11-20", rows: 250, startId: 700000 });
    const [header, ...lines] = readFileSync(generated, "utf8").trimEnd().split("\n");
    const idOf = (line: string) => line.slice(0, line.indexOf(","));
    expect(lines.map(idOf)).toEqual(lines.map(idOf).sort());
    const write = (name: string, rows: string[]) => {
      const file = path.join(tmp, name);
      writeFileSync(file, [header, ...rows].join("\n") + "\n");
      return file;
    };
    const first = await ingest(write("partner-b-mortgages-2026-11-20-mix-1.csv", lines.slice(0, 200)));
    expect(first).toMatchObject({ status: "COMPLETE", rows_read: 200, inserted: 200, updated: 0, unchanged: 0 });
    const foreign = idOf(lines[150]!);
    await platform.pool.query("UPDATE mortgages SET partner = 'C' WHERE mortgage_id = $1", [foreign]);
    const before = await mortgagesSnapshot("B-700");
    // Rows 100-249 (chunks of 100: 100-199 all known, 200-249 all new); 120-129 get a new e-mail, 150 is partner C's.
    const second = lines
      .slice(100)
      .map((l, i) => (i >= 20 && i < 30 ? l.replace(/[^,]*$/, `moved${i}@example.com`) : l));
    const row = await ingest(write("partner-b-mortgages-2026-11-21-mix-2.csv", second));
    expect(row).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      rows_read: 150,
      accepted: 149,
      rejected: 1,
      inserted: 50,
      updated: 10,
      unchanged: 89,
    });
    const rejects = await platform.pool.query(
      "SELECT row_number, error_type, field_name, field_value FROM import_rejects WHERE import_id = $1",
      [row.id],
    );
    expect(rejects.rows).toEqual([
      { row_number: 52, error_type: "rule", field_name: "mortgage_id", field_value: foreign },
    ]);
    const after = await mortgagesSnapshot("B-700");
    const changed = new Set(second.slice(20, 30).map(idOf));
    expect(after.length).toBe(250);
    for (const m of after) {
      const old = before.find((b) => b.mortgage_id === m.mortgage_id);
      if (changed.has(m.mortgage_id)) expect(m.email).toMatch(/^moved\d+@example\.com$/);
      else if (old) expect(m).toEqual(old);
    }
    expect(after.find((m) => m.mortgage_id === foreign)).toMatchObject({ partner: "C" });
  });

  it("sends a permanent chunk error to the Catch: FAILED with the step and an alert", async () => {
    const file = path.join(tmp, "partner-b-mortgages-2026-11-23.csv");
    await writePartnerB(file, { day: "2026-11-23", rows: 50, startId: 500_000 });
    writeFileSync(path.join(faults(), "process-chunk.after-copy.1.Error"), "");
    const alertsBefore = platform.alerts.length;
    const row = await ingest(file);
    expect(row).toMatchObject({ status: "FAILED", failed_step: "process" });
    expect(row.status_reason).toContain("injected fault at process-chunk.after-copy");
    const alert = platform.alerts
      .slice(alertsBefore)
      .find((a) => a.subject?.includes("partner-b-mortgages-2026-11-23.csv"));
    expect(alert?.message).toContain(`Replay: npx leadpipe replay ${row.id} --mode full`);
    expect(alert?.message).toContain("Step: process");
    expect((await mortgagesSnapshot("B-5")).length).toBe(0);
  });
});

describe("bad files end FAILED with a reason and an alert", () => {
  const cases: [string, string | Buffer, RegExp, string?][] = [
    [
      "holiday-photos.csv",
      "a,b\n1,2\n",
      /unknown source: no source spec matches inbox\/unrecognized\/.*holiday-photos\.csv/,
    ],
    ["partner-b-mortgages-empty.csv", "", /empty file: 0 bytes/],
    ["partner-b-mortgages-blank.csv", "\n\n  \n", /empty file: no header row/],
    [
      "partner-b-mortgages-workbook.csv",
      Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(200, 1)]),
      /not a CSV file: the content is a ZIP archive/,
    ],
    [
      "partner-b-mortgages-binary.csv",
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x1a]),
      /not a CSV file: the content is binary/,
    ],
    [
      "partner-b-mortgages-wrong-header.csv",
      "id,name\n1,x\n",
      /header does not match partner-b-mortgages: missing column\(s\) "Loan Number"/,
    ],
  ];
  it.each(cases)("%s", async (name, content, reason) => {
    const file = path.join(tmp, name);
    writeFileSync(file, content);
    const alertsBefore = platform.alerts.length;
    const row = await ingest(file);
    expect(row.status).toBe("FAILED");
    expect(row.status_reason).toMatch(reason);
    const alerts = platform.alerts.slice(alertsBefore);
    expect(alerts.some((a) => a.subject === `leadpipe import FAILED: ${name}` && reason.test(a.message))).toBe(true);
  });
});

describe("leadpipe sql", () => {
  it("answers queries and refuses writes", async () => {
    const url = platform.readonlyUrl;
    const r = await readOnlyQuery(url, "SELECT count(*)::int AS n FROM mortgages WHERE mortgage_id LIKE 'B-1000%'");
    expect(r).toEqual({ fields: ["n"], rows: [{ n: 6 }], more: false });
    await expect(readOnlyQuery(platform.pg!.url, "SELECT 1")).rejects.toThrow(/never runs as a superuser/);
    await expect(readOnlyQuery(url, "DELETE FROM mortgages")).rejects.toThrow(/refused: leadpipe sql runs one query/);
    expect(
      (await readOnlyQuery(url, "SELECT count(*)::int AS n FROM mortgages WHERE mortgage_id LIKE 'B-1000%'")).rows[0],
    ).toEqual({ n: 6 });
  });
});
