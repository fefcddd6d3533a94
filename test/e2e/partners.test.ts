import { copyFileSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { LocalPlatform } from "../../packages/local/src/platform";
import { trackingCodeFor } from "../../packages/local/src/generate/random";
import { writePartnerA } from "../../packages/local/src/generate/partners";
import { buildZip, workbookEntries } from "../support/zip";
import { usePlatform } from "../support/platform";

const sampleDir = path.resolve(__dirname, "../../fixtures/sample-day");
const PARTNER_FILES = /^partner-[a-d]-(mortgages|barcodes)/;
const sample = readdirSync(sampleDir)
  .filter((f) => PARTNER_FILES.test(f))
  .sort();
let platform: LocalPlatform;
let tmp: string;

async function ingestAll(files: string[]) {
  const rows = [];
  // One at a time, in the given order: the order of arrival is what the tests vary.
  for (const f of files) {
    const d = await platform.drop(f);
    rows.push((await platform.waitFor([d]))[0]!);
  }
  return rows;
}

/** The business content of the partner tables (lineage and timestamps excluded). */
async function snapshot() {
  const q = async (sql: string) => (await platform.pool.query(sql)).rows;
  return {
    mortgages:
      await q(`SELECT mortgage_id, partner, borrower_first_name, borrower_last_name, co_borrower_first_name, property_address, property_city,
                               property_state, property_zip5, property_zip4, loan_amount, lender_name, loan_type, interest_rate, closing_date,
                               first_payment_date, phone, email FROM mortgages WHERE partner IN ('A', 'B', 'C', 'D') ORDER BY mortgage_id`),
    mailPieces: await q(
      "SELECT tracking_code, partner, mortgage_id, routing_code, imb_raw FROM mail_pieces ORDER BY tracking_code",
    ),
    assignments: await q(
      "SELECT tracking_code, partner, mortgage_id, routing_code, imb_raw FROM barcode_assignments ORDER BY tracking_code",
    ),
    stagedMapRows: await q(
      "SELECT partner, mortgage_id, tracking_code FROM staging_barcode_map ORDER BY partner, mortgage_id, tracking_code",
    ),
  };
}

async function forgetEverything() {
  await platform.pool.query(
    `TRUNCATE mail_pieces, barcode_assignments, mortgages, staging_mortgages, staging_barcode_map, imports CASCADE`,
  );
}

usePlatform("leadpipe-partners-", { chunkRows: 4 }, (p, dir) => {
  platform = p;
  tmp = dir;
});

type ImportRow = Awaited<ReturnType<typeof ingestAll>>[number];

/** Each file's outcome; the sample's two byte-identical C files count as one (whichever arrives second is the DUPLICATE). */
function outcomes(rows: ImportRow[]) {
  return Object.fromEntries(
    rows
      .filter((r) => r.status !== "DUPLICATE")
      .map((r) => [
        r.file_name.replace("-resent", ""),
        [r.status, r.partner, r.rows_read, r.accepted, r.rejected, r.inserted, r.updated, r.unchanged],
      ]),
  );
}

/** Every rejected row of the partner files, by file: what a reconciliation reports. */
async function rejectsByFile() {
  const { rows } = await platform.pool.query(
    `SELECT replace(i.file_name, '-resent', '') AS file, r.row_number, r.field_name, r.error_message FROM import_rejects r JOIN imports i ON i.id = r.import_id
      WHERE i.file_name ~ '^partner-[a-d]-(mortgages|barcodes)-2026-11-20' ORDER BY 1, 2, 3`,
  );
  return rows.map((r) => [r.file, Number(r.row_number), r.field_name, r.error_message]);
}

async function object(key: string): Promise<string> {
  const r = await platform.s3.send(new GetObjectCommand({ Bucket: platform.bucket, Key: key }));
  return r.Body!.transformToString("utf8");
}

describe("the sample day of partners A-D and their barcode maps", () => {
  let first: Awaited<ReturnType<typeof snapshot>>;
  let firstOutcomes: ReturnType<typeof outcomes>;
  let firstRejects: Awaited<ReturnType<typeof rejectsByFile>>;

  it("ingests end to end with every row accounted for", async () => {
    const rows = await ingestAll(sample.map((f) => path.join(sampleDir, f)));
    const counts = Object.fromEntries(
      rows.map((r) => [
        r.file_name,
        [r.status, r.partner, r.rows_read, r.accepted, r.rejected, r.inserted, r.updated, r.unchanged],
      ]),
    );
    expect(counts).toEqual({
      "partner-a-mortgages-2026-11-20.xlsx": ["COMPLETE_WITH_ERRORS", "A", 8, 6, 2, 6, 0, 0],
      "partner-b-barcodes-2026-11-20.csv": ["COMPLETE_WITH_ERRORS", "B", 9, 8, 1, 7, 0, 1],
      "partner-b-mortgages-2026-11-20.csv": ["COMPLETE_WITH_ERRORS", "B", 10, 6, 4, 6, 0, 0],
      "partner-c-barcodes-2026-11-20.csv": ["COMPLETE_WITH_ERRORS", "C", 8, 7, 1, 7, 0, 0],
      "partner-c-mortgages-2026-11-20-resent.csv": ["COMPLETE_WITH_ERRORS", "C", 8, 5, 3, 5, 0, 0],
      "partner-c-mortgages-2026-11-20.csv": ["DUPLICATE", "C", 0, 0, 0, 0, 0, 0],
      "partner-d-barcodes-2026-11-20.csv": ["COMPLETE_WITH_ERRORS", "D", 6, 4, 2, 4, 0, 0],
      "partner-d-mortgages-2026-11-20.txt": ["COMPLETE_WITH_ERRORS", "D", 7, 5, 2, 5, 0, 0],
    });
    for (const r of rows) {
      expect(r.rows_read).toBe(r.accepted! + r.rejected!);
      expect(r.accepted).toBe(r.inserted! + r.updated! + r.unchanged!);
    }
    const rejects = await platform.pool.query(
      `SELECT i.partner, i.source, r.row_number, r.field_name, r.field_value, r.error_message FROM import_rejects r JOIN imports i ON i.id = r.import_id
        WHERE i.source IN ('partner-a-mortgages', 'barcode-map', 'partner-c-mortgages', 'partner-d-mortgages') ORDER BY i.source, i.partner, r.row_number`,
    );
    expect(rejects.rows.map((r) => [r.source, r.partner, Number(r.row_number), r.field_name, r.error_message])).toEqual(
      [
        ["barcode-map", "B", 9, "IMb", "imb: second digit of the barcode identifier is 7, expected 0-4"],
        ["barcode-map", "C", 5, "IMb", "imb: bar string has 64 bars, expected 65"],
        [
          "barcode-map",
          "D",
          5,
          "Barcode ID",
          "imb: the component fields (00|270|177735|000100005|) do not match the IMb column",
        ],
        [
          "barcode-map",
          "D",
          7,
          "mortgage_id",
          "mortgage B-100002 belongs to partner B; partner D's barcode map cannot assign it a barcode",
        ],
        [
          "partner-a-mortgages",
          "A",
          8,
          "IMb",
          "imb: character F is in neither character table; no single-bar repair passes",
        ],
        ["partner-a-mortgages", "A", 9, "Loan Amount", "expected an amount like 312500.00"],
        ["partner-c-mortgages", "C", 8, "CLOSED", "expected a date as DD.MM.YYYY"],
        ["partner-c-mortgages", "C", 9, "AMOUNT", "expected an amount like 312.500,00"],
        ["partner-c-mortgages", "C", 10, null, "unparsable line: expected 21 fields, found 22"],
        ["partner-d-mortgages", "D", 7, "EMAIL_ADDR", "expected an e-mail address"],
        ["partner-d-mortgages", "D", 8, "MORTGAGE_ID", "required value is missing"],
      ],
    );

    // Every partner's accepted mortgages carry their partner; every piece is linked to its own partner's mortgage.
    const pieces = await platform.pool.query(
      "SELECT partner, count(*)::int AS n FROM mail_pieces GROUP BY partner ORDER BY partner",
    );
    expect(pieces.rows.map((r) => [r.partner, r.n])).toEqual([
      ["A", 6],
      ["B", 6],
      ["C", 4],
      ["D", 4],
    ]);
    const linked = await platform.pool.query("SELECT mortgage_id, tracking_code FROM mail_pieces ORDER BY mortgage_id");
    expect(linked.rows.map((r) => r.mortgage_id)).toEqual([
      "A-100001",
      "A-100002",
      "A-100003",
      "A-100004",
      "A-100005",
      "A-100008",
      "B-100001",
      "B-100002",
      "B-100003",
      "B-100004",
      "B-100005",
      "B-100010",
      "C-100001",
      "C-100002",
      "C-100003",
      "C-100005",
      "D-100001",
      "D-100002",
      "D-100003",
      "D-100007",
    ]);
    for (const r of linked.rows) expect(r.tracking_code).toBe(trackingCodeFor(r.mortgage_id));
    // Waiting for their mortgages (rejected ones), or a claim on another partner's mortgage.
    const pending = await platform.pool.query(
      "SELECT partner, mortgage_id FROM pending_barcodes ORDER BY partner, mortgage_id",
    );
    expect(pending.rows).toEqual([
      { partner: "B", mortgage_id: "B-100006" },
      { partner: "C", mortgage_id: "C-100006" },
      { partner: "C", mortgage_id: "C-100007" },
      { partner: "C", mortgage_id: "C-100008" },
    ]);
    first = await snapshot();
    firstOutcomes = outcomes(rows);
    firstRejects = await rejectsByFile();
  });

  it("keeps the barcode as received beside the canonical tracking code (and flags a repaired one)", async () => {
    const a2 = await platform.pool.query(
      "SELECT imb_raw, tracking_code, routing_code, imb_repaired FROM staging_mortgages WHERE mortgage_id = 'A-100002'",
    );
    // Exactly as received: lower case and with the blanks around it, as the partner typed it.
    expect(a2.rows[0].imb_raw).toMatch(/^ {2}[fadt]{65} $/);
    expect(a2.rows[0]).toMatchObject({ tracking_code: trackingCodeFor("A-100002"), imb_repaired: false });
    const a8 = await platform.pool.query(
      "SELECT tracking_code, imb_repaired FROM staging_mortgages WHERE mortgage_id = 'A-100008'",
    );
    expect(a8.rows[0]).toEqual({ tracking_code: trackingCodeFor("A-100008"), imb_repaired: true });
    const map = await platform.pool.query(
      "SELECT mortgage_id, imb_raw, imb_encoding, tracking_code FROM staging_barcode_map WHERE mortgage_id IN ('B-100003', 'B-100005', 'D-100003') ORDER BY mortgage_id",
    );
    expect(map.rows).toEqual([
      {
        mortgage_id: "B-100003",
        imb_raw: "00270 22249 70001 00003",
        imb_encoding: "numeric",
        tracking_code: trackingCodeFor("B-100003"),
      },
      {
        mortgage_id: "B-100005",
        imb_raw: "00|270|222497|000100005|020769849",
        imb_encoding: "fields",
        tracking_code: trackingCodeFor("B-100005"),
      },
      {
        mortgage_id: "D-100003",
        imb_raw: "00-270-177735-000100003-029526174",
        imb_encoding: "numeric",
        tracking_code: trackingCodeFor("D-100003"),
      },
    ]);
  });

  it("reads each dialect right: Windows-1252 names, European numbers, quoted delimiters, upper case, spreadsheet dates", async () => {
    const m = await platform.pool.query(
      `SELECT mortgage_id, borrower_first_name, borrower_last_name, co_borrower_first_name, property_address, property_state, property_zip5, property_zip4,
              loan_amount, lender_name, loan_type, interest_rate, closing_date, email
         FROM mortgages WHERE mortgage_id IN ('A-100002', 'C-100001', 'C-100002', 'C-100005', 'D-100001', 'D-100002') ORDER BY mortgage_id`,
    );
    expect(m.rows).toEqual([
      {
        mortgage_id: "A-100002",
        borrower_first_name: "Wei",
        borrower_last_name: "Chen",
        co_borrower_first_name: "Li",
        property_address: "48 Commonwealth Ave",
        property_state: "MA",
        property_zip5: "02116",
        property_zip4: null,
        loan_amount: "612500.50",
        lender_name: "Harbor Mortgage",
        loan_type: "JUMBO",
        interest_rate: "5.875",
        closing_date: "2026-11-16",
        email: "wei.chen@example.com",
      },
      {
        mortgage_id: "C-100001",
        borrower_first_name: "José",
        borrower_last_name: "Muñoz",
        co_borrower_first_name: "Begoña",
        property_address: "2500 Guadalupe St",
        property_state: "TX",
        property_zip5: "78705",
        property_zip4: null,
        loan_amount: "312500.00",
        lender_name: "First Lone Star Bank",
        loan_type: "CONV",
        interest_rate: "6.125",
        closing_date: "2026-11-14",
        email: "jose.munoz@example.com",
      },
      {
        mortgage_id: "C-100002",
        borrower_first_name: "François",
        borrower_last_name: "Lefèvre",
        co_borrower_first_name: null,
        property_address: "18 Rue Royale Ct",
        property_state: "MO",
        property_zip5: "63101",
        property_zip4: "1100",
        loan_amount: "1045000.00",
        lender_name: "Lakeside Bank; N.A.",
        loan_type: "JUMBO",
        interest_rate: "5.750",
        closing_date: "2026-11-14",
        email: "f.lefevre@example.com",
      },
      {
        mortgage_id: "C-100005",
        borrower_first_name: "Zoë",
        borrower_last_name: "Çelik",
        co_borrower_first_name: null,
        property_address: "120 Broadway",
        property_state: "TN",
        property_zip5: "37201",
        property_zip4: null,
        loan_amount: "199000.00",
        lender_name: "Emerald Lending",
        loan_type: "USDA",
        interest_rate: "6.250",
        closing_date: "2026-11-16",
        email: "zoe.celik@example.com",
      },
      {
        mortgage_id: "D-100001",
        borrower_first_name: "MARY",
        borrower_last_name: "O'BRIEN",
        co_borrower_first_name: null,
        property_address: "14 HARBOR ST",
        property_state: "MA",
        property_zip5: "02110",
        property_zip4: "1234",
        loan_amount: "375000.00",
        lender_name: "HARBOR MORTGAGE",
        loan_type: "CONV",
        interest_rate: "6.125",
        closing_date: "2026-11-16",
        email: "mary.obrien@example.com",
      },
      {
        mortgage_id: "D-100002",
        borrower_first_name: "CARLOS",
        borrower_last_name: "RODRIGUEZ",
        co_borrower_first_name: "ANA",
        property_address: "300 MAIN ST | SUITE 4B",
        property_state: "TX",
        property_zip5: "75201",
        property_zip4: null,
        loan_amount: "289000.00",
        lender_name: "FIRST LONE STAR BANK",
        loan_type: "FHA",
        interest_rate: "6.500",
        closing_date: "2026-11-17",
        email: null,
      },
    ]);
  });

  it("changes nothing when any file is sent again (under another name)", async () => {
    const before = await snapshot();
    const again = sample.map((f) => {
      const copy = path.join(tmp, f.replace(/(\.\w+)$/, "-again$1"));
      copyFileSync(path.join(sampleDir, f), copy);
      return copy;
    });
    const rows = await ingestAll(again);
    expect(rows.map((r) => r.status)).toEqual(sample.map(() => "DUPLICATE"));
    expect(await snapshot()).toEqual(before);
  });

  it("converges to the same tables, counts and rejects when the barcode maps arrive before the mortgages", async () => {
    await forgetEverything();
    const maps = sample.filter((f) => f.includes("barcodes"));
    const mortgages = sample.filter((f) => !f.includes("barcodes")).reverse();
    const rows = await ingestAll([...maps, ...mortgages].map((f) => path.join(sampleDir, f)));
    expect(rows.filter((r) => r.status === "FAILED")).toEqual([]);
    // Partner D's claim on B-100002 arrived before B's mortgage: it was accepted, then rejected when
    // B's mortgage landed, exactly as if the mortgage had been first. Nothing waits for it.
    const dMap = rows.find((r) => r.file_name === "partner-d-barcodes-2026-11-20.csv")!;
    const bMortgages = rows.find((r) => r.file_name === "partner-b-mortgages-2026-11-20.csv")!;
    expect(dMap).toMatchObject({ status: "COMPLETE_WITH_ERRORS", rows_read: 6, accepted: 5, rejected: 1, inserted: 5 });
    const dMapNow = await platform.pool.query(
      "SELECT status, status_reason, rows_read, accepted, rejected, inserted, updated, unchanged FROM imports WHERE id = $1",
      [dMap.id],
    );
    expect(dMapNow.rows[0]).toEqual({
      status: "COMPLETE_WITH_ERRORS",
      status_reason: "2 of 6 rows rejected (1 later, when the mortgage it claims arrived from another partner)",
      rows_read: 6,
      accepted: 4,
      rejected: 2,
      inserted: 4,
      updated: 0,
      unchanged: 0,
    });
    const late = await platform.pool.query(
      "SELECT row_number, field_value, rejected_later_by FROM import_rejects WHERE import_id = $1 AND rejected_later_by IS NOT NULL",
      [dMap.id],
    );
    expect(late.rows).toEqual([{ row_number: 7, field_value: "B-100002", rejected_later_by: bMortgages.id }]);
    // The map import's reports were rewritten with the late reject.
    expect((await object(`reports/${dMap.id}/errors.csv`)).split("\n").filter((l) => l.startsWith("7,"))).toEqual([
      "7,rule,mortgage_id,B-100002,mortgage B-100002 belongs to partner B; partner D's barcode map cannot assign it a barcode",
    ]);
    expect((await object(`reports/${dMap.id}/success.csv`)).split("\n")[1]).toMatch(
      new RegExp(`^${dMap.id},partner-d-barcodes-2026-11-20.csv,6,4,0,0,2,[0-9.]+,COMPLETE_WITH_ERRORS$`),
    );
    expect(
      (await platform.pool.query("SELECT partner, mortgage_id FROM pending_barcodes WHERE partner = 'D'")).rows,
    ).toEqual([]);

    // Every file ends with the same counts and the same rejected rows as in the first order, and the tables are the same.
    const finalRows = (await platform.pool.query("SELECT * FROM imports WHERE id = ANY($1)", [rows.map((r) => r.id)]))
      .rows;
    expect(outcomes(finalRows)).toEqual(firstOutcomes);
    expect(await rejectsByFile()).toEqual(firstRejects);
    expect(await snapshot()).toEqual(first);
  });
});

describe("XLSX workbooks that cannot be read safely end FAILED with a reason, and nothing else is affected", () => {
  it("truncated, corrupt, not a ZIP, not a workbook, zip bombs (honest and lying), broken sheet XML", async () => {
    const good = path.join(tmp, "partner-a-mortgages-2026-12-01.xlsx");
    await writePartnerA(good, { day: "2026-12-01", rows: 30, startId: 700_000 });
    const bytes = readFileSync(path.join(sampleDir, "partner-a-mortgages-2026-11-20.xlsx"));
    const corrupt = Buffer.from(bytes);
    corrupt.fill(0x41, 2000, 2400);
    const zeros = Buffer.alloc(20 * 1024 * 1024, 0x20);
    const cases: [string, Buffer, RegExp][] = [
      [
        "truncated",
        bytes.subarray(0, Math.floor(bytes.length / 2)),
        /XLSX workbook rejected: truncated or corrupt: the ZIP end-of-central-directory record is missing$/,
      ],
      ["corrupt", corrupt, /XLSX workbook rejected: corrupt/],
      ["text", Buffer.from("Loan ID,IMb\nA-1,FFFF\n"), /not an XLSX workbook: the content is not a ZIP archive/],
      [
        "no-workbook",
        buildZip([{ name: "hello.txt", data: Buffer.from("hi") }]),
        /XLSX workbook rejected: not an XLSX workbook: the ZIP archive has no xl\/workbook.xml$/,
      ],
      [
        "bomb",
        buildZip(workbookEntries(zeros)),
        /XLSX workbook rejected: zip bomb suspected: xl\/worksheets\/sheet1.xml has a compression ratio of \d+:1 \(limit 200:1\)$/,
      ],
      [
        "lying-bomb",
        buildZip(workbookEntries(zeros, { declaredSize: 4096 })),
        /XLSX workbook rejected: corrupt or a zip bomb: xl\/worksheets\/sheet1.xml inflates past its declared 4096 bytes$/,
      ],
      [
        "bad-xml",
        buildZip(
          workbookEntries(
            Buffer.from(
              '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Loan ID</t></is></c></row><<<',
            ),
          ),
        ),
        /corrupt XLSX workbook: /,
      ],
    ];
    const files = cases.map(([name, content]) => {
      const f = path.join(tmp, `partner-a-mortgages-${name}.xlsx`);
      writeFileSync(f, content);
      return f;
    });
    const mortgagesBefore = (await platform.pool.query("SELECT count(*)::int AS n FROM mortgages")).rows[0].n;
    const drops = [];
    for (const f of [...files, good]) drops.push(await platform.drop(f));
    const rows = await platform.waitFor(drops);
    cases.forEach(([name, , reason], i) => {
      expect({ name, status: rows[i]!.status }).toEqual({ name, status: "FAILED" });
      expect(rows[i]!.status_reason).toMatch(reason);
      expect(
        platform.alerts.some((a) => a.subject === `leadpipe import FAILED: partner-a-mortgages-${name}.xlsx`),
      ).toBe(true);
    });
    expect(rows.at(-1)).toMatchObject({ status: "COMPLETE", rows_read: 30, accepted: 30, inserted: 30 });
    expect((await platform.pool.query("SELECT count(*)::int AS n FROM mortgages")).rows[0].n).toBe(
      mortgagesBefore + 30,
    );
    const pieces = await platform.pool.query(
      "SELECT count(*)::int AS n FROM mail_pieces WHERE mortgage_id LIKE 'A-7%'",
    );
    expect(pieces.rows[0].n).toBe(30);
  });
});
