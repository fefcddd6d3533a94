import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import ExcelJS from "exceljs";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import type { Import } from "@leadpipe/core";
import type { LocalPlatform } from "../../packages/local/src/platform";
import { usePlatform } from "../support/platform";

const sampleDay = path.resolve(__dirname, "../../fixtures/sample-day");
let platform: LocalPlatform;
let tmp: string;

async function ingest(file: string, source?: string) {
  const d = await platform.drop(file, source);
  const [row] = await platform.waitFor([d]);
  return row!;
}

/** Every golden record touched by the sample day: its source records (kind and key) and surviving name, e-mail and phone. */
async function golden() {
  const { rows } = await platform.pool.query<{
    records: string[];
    first_name: string;
    last_name: string;
    email: string | null;
    phone: string | null;
  }>(
    `SELECT array_agg(CASE WHEN r.source_kind = 'contacts' THEN 'contacts line ' || r.source_row ELSE r.source_kind || ' ' || r.source_key END
                      ORDER BY r.source_kind, r.source_row, r.source_key) AS records,
            p.first_name, p.last_name, p.email, p.phone
       FROM persons p JOIN person_records r USING (person_id) GROUP BY p.person_id ORDER BY 1`,
  );
  return rows;
}

/** Waits until the people consumer has resolved the import (it runs after the execution ends, on its own schedule). */
async function resolved(importId: string) {
  for (;;) {
    await platform.peopleIdle();
    const { rows } = await platform.pool.query(
      "SELECT records, created, attached, merged FROM people_resolutions WHERE import_id = $1",
      [importId],
    );
    if (rows[0]) return rows[0];
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The contacts rows' record key: the file's line (src_seq = import lineage << 32 | line). */
const rowKey = async (importId: string, line: number) => {
  const { rows } = await platform.pool.query<{ seq: string }>(
    "SELECT (coalesce(lineage_seq, seq)::bigint << 32 | $2)::text AS seq FROM imports WHERE id = $1",
    [importId, line],
  );
  return `row:${rows[0]!.seq}`;
};

usePlatform("leadpipe-people-e2e-", { chunkRows: 5 }, (p, dir) => {
  platform = p;
  tmp = dir;
});

describe("a contact list through the pipeline", () => {
  let contacts: Import.ImportRow;

  it("maps its headers by name, rejects each bad row with its line, field and reason, and lands the rest as person records", async () => {
    await ingest(path.join(sampleDay, "partner-b-mortgages-2026-11-20.csv"));
    contacts = await ingest(path.join(sampleDay, "contacts-2026-11-20.csv"));
    expect(contacts).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      source: "contacts",
      rows_read: 12,
      accepted: 8,
      rejected: 4,
      inserted: 8,
      updated: 0,
      unchanged: 0,
    });
    const rejects = await platform.pool.query(
      "SELECT row_number, error_type, field_name, field_value, error_message FROM import_rejects WHERE import_id = $1 ORDER BY row_number, field_name",
      [contacts.id],
    );
    expect(rejects.rows).toEqual([
      {
        row_number: 9,
        error_type: "validation",
        field_name: "E-mail",
        field_value: "not-an-email@",
        error_message: "an e-mail address needs a local part, one @ and a domain",
      },
      {
        row_number: 10,
        error_type: "rule",
        field_name: "name",
        field_value: null,
        error_message: "a contact needs a name (first name, last name or full name)",
      },
      {
        row_number: 11,
        error_type: "validation",
        field_name: "Date of Birth",
        field_value: "31/31/1990",
        error_message: 'not a calendar date: "31/31/1990"',
      },
      {
        row_number: 13,
        error_type: "validation",
        field_name: "Mobile",
        field_value: "call me",
        error_message: "letters in a phone number",
      },
      {
        row_number: 13,
        error_type: "validation",
        field_name: "State",
        field_value: "ZZ",
        error_message: 'unknown state "ZZ"',
      },
    ]);
    const {
      rows: [maria],
    } = await platform.pool.query(
      "SELECT first_name, last_name, email, phone, dob::text, address_line1, city, state, zip5, raw FROM person_records WHERE source_key = $1",
      [await rowKey(contacts.id, 2)],
    );
    expect(maria).toEqual({
      first_name: "Maria",
      last_name: "Gonzalez",
      email: "maria.gonzalez@example.com",
      phone: "+15125550142",
      dob: "1979-03-14",
      address_line1: "1418 OAK HOLLOW DR",
      city: "AUSTIN",
      state: "TX",
      zip5: "78745",
      raw: {
        first_name: "Maria",
        last_name: "GONZALEZ",
        email: "maria.gonzalez@example.com",
        phone: "512.555.0142",
        street: "1418 Oak Hollow Drive",
        city: "Austin",
        state: "Texas",
        zip: "78745",
        dob: "03/14/1979",
      },
    });
  });

  it("resolves after the import and links each contact to the mortgage borrower who is the same person", async () => {
    expect(await resolved(contacts.id)).toEqual({ records: 8, created: 1, attached: 6, merged: 0 });
    expect(await golden()).toEqual([
      {
        records: ["contacts line 12", "mortgage-borrower B:B-100010"],
        first_name: "Emma",
        last_name: "Davis",
        email: "emma.davis@example.com",
        phone: "+15035550155",
      },
      {
        records: ["contacts line 2", "contacts line 7", "mortgage-borrower B:B-100001"],
        first_name: "Maria",
        last_name: "Gonzalez",
        email: "maria.gonzalez@example.com",
        phone: "+15125550142",
      },
      {
        records: ["contacts line 3", "mortgage-borrower B:B-100002"],
        first_name: "Jim",
        last_name: "O'Brien",
        email: "jobrien@example.com",
        phone: "+16175550199",
      },
      {
        records: ["contacts line 4", "mortgage-borrower B:B-100004"],
        first_name: "Bob",
        last_name: "Van der Berg",
        email: null,
        phone: "+18015550166",
      },
      {
        records: ["contacts line 5", "mortgage-co-borrower B:B-100004"],
        first_name: "Anne",
        last_name: "van der Berg",
        email: "anne.vdb@example.com",
        phone: null,
      },
      {
        records: ["contacts line 6"],
        first_name: "Kevin",
        last_name: "Nguyen",
        email: "kevin.nguyen@example.com",
        phone: null,
      },
      {
        records: ["contacts line 8", "mortgage-co-borrower B:B-100001"],
        first_name: "Luis",
        last_name: "Gonzalez",
        email: null,
        phone: null,
      },
      {
        records: ["mortgage-borrower B:B-100003"],
        first_name: "Priya",
        last_name: "Patel",
        email: "priya.patel@example.org",
        phone: "+12135550107",
      },
      {
        records: ["mortgage-borrower B:B-100005"],
        first_name: "Linda",
        last_name: "Smith-Jones",
        email: "linda.sj@example.net",
        phone: "+14045550123",
      },
    ]);
    // A link joins two records; which one was matched against the other depends on which chunk committed first.
    const label =
      "CASE WHEN %1$s.source_kind = 'contacts' THEN 'contacts line ' || %1$s.source_row ELSE %1$s.source_kind || ' ' || %1$s.source_key END";
    const { rows: links } = await platform.pool.query<{
      a: string;
      b: string;
      score: string;
      tier: string;
      reason: string;
    }>(
      `SELECT ${label.replaceAll("%1$s", "a")} AS a, ${label.replaceAll("%1$s", "b")} AS b, l.score::text, l.tier, l.reason
         FROM person_links l JOIN person_records a ON a.record_id = l.record_id JOIN person_records b ON b.record_id = l.matched_record_id
        WHERE l.import_id = $1`,
      [contacts.id],
    );
    const pairs = links
      .map((l) => [
        [l.a, l.b].sort((x, y) => x.localeCompare(y, "en", { numeric: true })).join(" ~ "),
        l.score,
        l.tier,
        l.reason,
      ])
      .sort((x, y) => x[0]!.localeCompare(y[0]!, "en", { numeric: true }));
    expect(pairs).toEqual([
      [
        "contacts line 2 ~ contacts line 7",
        "0.930",
        "strong",
        "strong: first + date of birth + address (surname differs)",
      ],
      ["contacts line 2 ~ mortgage-borrower B:B-100001", "1.000", "exact", "exact: e-mail"],
      ["contacts line 3 ~ mortgage-borrower B:B-100002", "0.970", "exact", "exact: phone"],
      ["contacts line 4 ~ mortgage-borrower B:B-100004", "0.970", "exact", "exact: phone"],
      ["contacts line 5 ~ mortgage-co-borrower B:B-100004", "0.950", "strong", "strong: first + last + ZIP"],
      ["contacts line 7 ~ mortgage-borrower B:B-100001", "0.885", "fuzzy", "fuzzy: name 0.938 + address 1"],
      ["contacts line 8 ~ mortgage-co-borrower B:B-100001", "0.950", "strong", "strong: first + last + ZIP"],
      ["contacts line 12 ~ mortgage-borrower B:B-100010", "1.000", "exact", "exact: e-mail"],
    ]);
  });

  it("is idempotent: the same file again is a DUPLICATE, a full replay lands nothing new and keeps every golden id", async () => {
    const before = (
      await platform.pool.query("SELECT person_id, record_id, source_key FROM person_records ORDER BY record_id")
    ).rows;
    expect(await ingest(path.join(sampleDay, "contacts-2026-11-20.csv"))).toMatchObject({ status: "DUPLICATE" });
    const result = (await platform.invoke("replay", { importId: contacts.id, mode: "full" })) as Import.ReplayResult;
    const [replayed] = await platform.waitForImports([result.replayId!]);
    expect(replayed).toMatchObject({
      status: "COMPLETE_WITH_ERRORS",
      rows_read: 12,
      accepted: 8,
      rejected: 4,
      inserted: 0,
      updated: 0,
      unchanged: 8,
    });
    await resolved(replayed!.id);
    expect(
      (await platform.pool.query("SELECT person_id, record_id, source_key FROM person_records ORDER BY record_id"))
        .rows,
    ).toEqual(before);
  });

  it("refuses a list whose header names no person, saying what it found", async () => {
    const file = path.join(tmp, "contacts-no-names.csv");
    writeFileSync(file, "Account,Balance\nA-1,10\n");
    const row = await ingest(file);
    expect(row).toMatchObject({ status: "FAILED", source: "contacts" });
    expect(row.status_reason).toContain(
      'header does not fit contacts: no column names a person (first name, last name or name); found "Account", "Balance"',
    );
  });
});

describe("a contact list as a workbook", () => {
  it("reads the first sheet's first non-empty row as the header, mapped the same way; a date cell is a date of birth; the people join the golden records of the CSV's", async () => {
    const [header, ...rows] = parse(readFileSync(path.join(sampleDay, "contacts-2026-11-20.csv"))) as string[][];
    const file = path.join(tmp, "contacts-crm-export.xlsx");
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet("Export");
    sheet.addRow([]);
    sheet.addRow(header!);
    // Kevin Nguyen (line 6 of the CSV) again, his date of birth a date cell; Sam Carter with a usable phone this time.
    // Both rows end before the last column (Excel stores no trailing blank cells).
    sheet.addRow(rows[4]!.map((c, i) => (i === 10 ? new Date(Date.UTC(1985, 6, 2)) : c)));
    sheet.addRow(["X-1", "Sam", "Carter", "", "720-555-0134", "4 Pine Ct", "", "Denver", "CO", "80202", "", ""]);
    await book.xlsx.writeFile(file);
    const row = await ingest(file);
    expect(row).toMatchObject({
      status: "COMPLETE",
      source: "contacts-xlsx",
      rows_read: 2,
      accepted: 2,
      rejected: 0,
      inserted: 2,
    });
    await resolved(row.id);
    const { rows: people } = await platform.pool.query(
      `SELECT r.first_name, r.dob::text, r.source_row::int, (SELECT count(*)::int FROM person_records o WHERE o.person_id = r.person_id) AS records
         FROM person_records r WHERE r.import_id = $1 ORDER BY r.source_row`,
      [row.id],
    );
    expect(people).toEqual([
      { first_name: "Kevin", dob: "1985-07-02", source_row: 3, records: 2 },
      { first_name: "Sam", dob: null, source_row: 4, records: 1 },
    ]);
  });
});
