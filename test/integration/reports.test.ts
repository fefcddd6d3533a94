import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdhocSql, createPool, migrate, Reports, Roles, withTransaction, type Pool } from "@leadpipe/core";
import { mailProductionTarget } from "../../packages/core/src/sources/mail-production";
import { addUser } from "../../packages/console/src/auth/store";
import { startConsole } from "../../packages/console/src/server";
import { renderShown, type ShowFormat } from "../../packages/local/src/commands/report";
import { startPostgres, type RunningPostgres } from "../../packages/local/src/postgres";
import { ConsoleClient } from "../support/console-client";
import { testConsoleDeps } from "../support/console-deps";

let pg: RunningPostgres;
let pool: Pool;
let tmp: string;

const IMPORT = "00000000-0000-4000-8000-000000000001";
/** A fixed "data as of" for the printed outputs. */
const AS_OF = new Date("2026-12-01T06:30:00.123Z");
const code = (n: number) => String(n).padStart(20, "0");
const run: Reports.RunQuery = (sql, params) => pool.query(sql, params);
const show = async (name: string, where: Record<string, string> = {}) =>
  (
    await Reports.show(
      run,
      name,
      Object.entries(where).map(([column, value]) => ({ column, value })),
    )
  ).rows;

/**
 * The hand-built world:
 * - partner B, campaign SPRING, mailed Monday 2026-11-02: version A pieces 1-1000 (50 called back),
 *   version B pieces 1001-2000 (80 called back); letters to Beverly Hills (90210, Los Angeles
 *   county 06037); none delivered.
 * - partner C, campaign FALL, mailed 2026-11-03: three postcards to ZIP 99999 in TX (a ZIP the
 *   table does not know): piece 3001 delivered twice (11-05 and 11-07), 3002 delivered 11-06,
 *   3003 never delivered but its owner called, interested, and the lead was handed off 24 h later.
 * - one call keyed with a tracking code and a mortgage id nobody has: matched to nothing.
 */
async function buildWorld() {
  await pool.query(
    `INSERT INTO imports (id, bucket, object_key, event_key, file_name, source, partner, status, rows_read, accepted, rejected,
                          created_at, finished_at)
     VALUES ($1, 'b', 'k1', 'e1', 'partner-b-mail-production.csv', 'partner-b-mail-production', 'B', 'COMPLETE_WITH_ERRORS', 2001, 2000, 1,
             '2026-11-02 08:00Z', '2026-11-02 08:00:30Z'),
            ('00000000-0000-4000-8000-000000000002', 'b', 'k2', 'e2', 'partner-c-mail-production.csv', 'partner-c-mail-production', 'C',
             'FAILED', NULL, NULL, NULL, '2026-11-02 09:00Z', '2026-11-02 09:00:10Z')`,
    [IMPORT],
  );
  await pool.query(
    `INSERT INTO import_rejects (import_id, chunk_index, row_number, error_type, field_name, field_value, error_message)
     VALUES ($1, 0, 7, 'validation', 'imb', 'XYZ', 'imb: not a barcode')`,
    [IMPORT],
  );
  // mortgages and their pieces
  await pool.query(
    `INSERT INTO mortgages (mortgage_id, partner, property_state, property_zip5, import_id, source_row, src_seq)
     SELECT 'B' || n, 'B', 'CA', '90210', $1::uuid, n, n FROM generate_series(1, 2000) n
     UNION ALL SELECT 'C' || n, 'C', 'TX', '99999', $1::uuid, n, n FROM generate_series(3001, 3003) n`,
    [IMPORT],
  );
  await pool.query(
    `INSERT INTO mail_pieces (tracking_code, partner, mortgage_id, import_id, source_row, src_seq)
     SELECT lpad(n::text, 20, '0'), 'B', 'B' || n, $1::uuid, n, n FROM generate_series(1, 2000) n
     UNION ALL SELECT lpad(n::text, 20, '0'), 'C', 'C' || n, $1::uuid, n, n FROM generate_series(3001, 3003) n`,
    [IMPORT],
  );
  await pool.query(
    `INSERT INTO mail_piece_production (tracking_code, partner, mail_date, mailer_version, piece_type, campaign, import_id, source_row, src_seq)
     SELECT lpad(n::text, 20, '0'), 'B', date '2026-11-02', CASE WHEN n <= 1000 THEN 'A' ELSE 'B' END, 'letter', 'SPRING', $1::uuid, n, n
       FROM generate_series(1, 2000) n
     UNION ALL SELECT lpad(n::text, 20, '0'), 'C', date '2026-11-03', 'A', 'postcard', 'FALL', $1::uuid, n, n FROM generate_series(3001, 3003) n`,
    [IMPORT],
  );
  // deliveries through the first-delivery rule
  await pool.query(
    `INSERT INTO delivery_events (tracking_code, partner, event_at, event_code, status, import_id, source_row, src_seq)
     VALUES ($1, 'C', '2026-11-07 15:00Z', '918', 'applied', $3, 1, 1), ($1, 'C', '2026-11-05 15:00Z', '918', 'applied', $3, 2, 2),
            ($2, 'C', '2026-11-06 12:00Z', '918', 'applied', $3, 3, 3)`,
    [code(3001), code(3002), IMPORT],
  );
  await pool.query("SELECT apply_first_deliveries($1)", [[code(3001), code(3002)]]);
  // calls through the matching rule
  await pool.query(
    `INSERT INTO call_responses (caller_phone, called_at, disposition, keyed_tracking, lookup_tracking_code, import_id, source_row, src_seq)
     SELECT '+1212555' || lpad(n::text, 4, '0'), timestamptz '2026-11-09 10:00Z', 'callback', lpad(n::text, 20, '0'), lpad(n::text, 20, '0'), $1::uuid, n, n
       FROM generate_series(1, 2000) n WHERE n <= 50 OR n BETWEEN 1001 AND 1080
     UNION ALL SELECT '+13125550001', '2026-11-10 10:00Z', 'interested', $2, $2, $1::uuid, 5000, 5000`,
    [IMPORT, code(3003)],
  );
  await pool.query(
    `INSERT INTO call_responses (caller_phone, called_at, disposition, keyed_mortgage_id, keyed_tracking, lookup_mortgage_id,
                                 lookup_tracking_code, import_id, source_row, src_seq)
     VALUES ('+14155550199', '2026-11-10 11:00Z', 'interested', 'NOPE', '99999999999999999999', 'NOPE', '99999999999999999999', $1, 5001, 5001)`,
    [IMPORT],
  );
  const { rows: codes } = await pool.query<{ c: string }>(
    "SELECT DISTINCT lookup_tracking_code AS c FROM call_responses",
  );
  await pool.query("SELECT resolve_call_responses($1, $2)", [codes.map((r) => r.c), ["NOPE"]]);
  await pool.query(
    `INSERT INTO lead_handoffs (day, file_key, handed_off_at, leads, sha256) VALUES ('2026-11-11', 'outbox/leads/x.csv', '2026-11-11 10:00Z', 1, 'x')`,
  );
  await pool.query(
    `INSERT INTO lead_handoff_items (lead_id, day, file_key, handed_off_at, cells)
     SELECT id, '2026-11-11', 'outbox/leads/x.csv', '2026-11-11 10:00Z', '{}' FROM leads`,
  );
  // a barcode waiting for its mortgage
  await pool.query(
    `INSERT INTO barcode_assignments (tracking_code, partner, mortgage_id, imb_raw, import_id, source_row, src_seq)
     VALUES ($1, 'B', 'B-LATE', 'raw', $2, 9, 9)`,
    [code(9999), IMPORT],
  );
  // an audience with its waterfall and touchpoints
  await pool.query(
    `INSERT INTO audience_publications (campaign, channel, as_of, rows, audience_key, reconciliation_key, audience_sha256, waterfall)
     VALUES ('recent-bookers', 'email', '2026-11-12', 3, 'a', 'r', 's',
             '[{"step":"customers","remaining":100,"excluded":0},{"step":"consent","remaining":80,"excluded":20},
               {"step":"frequency_cap","remaining":75,"excluded":5}]')`,
  );
  await pool.query(
    `INSERT INTO touchpoints (campaign, channel, customer_id, touched_on)
     VALUES ('recent-bookers', 'email', 'c1', '2026-11-12'), ('recent-bookers', 'email', 'c2', '2026-11-12'),
            ('recent-bookers', 'email', 'c3', '2026-11-12')`,
  );
  // golden records: three records, two people, one exact link, one merge later undone
  await pool.query(
    `INSERT INTO persons (person_id, created_at) VALUES (1, '2026-11-04 10:00Z'), (2, '2026-11-04 10:00Z');
     INSERT INTO person_records (record_id, source_kind, source_key, import_id, source_row, src_seq, person_id, created_at)
     VALUES (1, 'contacts', 'k1', '${IMPORT}', 1, 1, 1, '2026-11-04 10:00Z'), (2, 'contacts', 'k2', '${IMPORT}', 2, 2, 1, '2026-11-04 10:00Z'),
            (3, 'contacts', 'k3', '${IMPORT}', 3, 3, 2, '2026-11-04 10:00Z');
     INSERT INTO person_links (record_id, matched_record_id, score, tier, reason, created_at)
     VALUES (2, 1, 1.0, 'exact', 'same e-mail', '2026-11-04 10:00Z');
     INSERT INTO person_merges (survivor_id, absorbed_id, absorbed, moved_records, cause, merged_at, unmerged_at)
     VALUES (1, 2, '{}', '{3}', 'test', '2026-11-04 11:00Z', '2026-11-05 09:00Z')`,
  );
}

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "leadpipe-reports-"));
  pg = await startPostgres(path.join(tmp, "pg"));
  pool = createPool(pg.url, 8);
  await migrate(pool);
  await buildWorld();
  await Reports.refreshAll(pool);
});

afterAll(async () => {
  await pool?.end();
  await pg?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("the reports on hand-built data", () => {
  it("ab-response: B's 8.0% against A's 5.0% is +3.0 points, 95% CI [0.84, 5.16] points, z 2.72, p 0.0065", async () => {
    const rows = await show("ab-response", { campaign: "SPRING" });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      mail_week: "2026-11-02",
      mailer_version: "A",
      pieces: 1000,
      responders: 50,
      response_rate: "0.050000",
      control_version: "A",
      diff_vs_control: null,
      ci95_low: null,
    });
    // p1 = 80/1000, p0 = 50/1000; SE = sqrt(.08*.92/1000 + .05*.95/1000) = 0.0110045;
    // CI = 0.03 ± 1.959964 × SE; pooled p = 130/2000, z = 0.03 / sqrt(.065*.935*(2/1000)) = 2.7211
    expect(rows[1]).toMatchObject({
      mailer_version: "B",
      pieces: 1000,
      responders: 80,
      response_rate: "0.080000",
      control_version: "A",
      diff_vs_control: "0.030000",
      ci95_low: "0.008431",
      ci95_high: "0.051569",
      z: "2.7211",
    });
    expect(Number(rows[1]!.p_value)).toBeCloseTo(0.0065066, 5);
  });

  it("the p-value: 0.05 at z = 1.96, 1 at z = 0, 0 far out (no underflow)", async () => {
    const {
      rows: [r],
    } = await pool.query(
      "SELECT normal_two_sided_p(1.959964) AS a, normal_two_sided_p(-1.959964) AS b, normal_two_sided_p(0) AS c, normal_two_sided_p(40) AS d",
    );
    expect(r.a).toBeCloseTo(0.05, 6);
    expect(r.b).toBeCloseTo(0.05, 6);
    expect(r.c).toBeCloseTo(1, 6);
    expect(r.d).toBe(0);
  });

  it("delivery-by-partner: a piece delivered twice counts its first delivery, one never delivered counts as mailed", async () => {
    expect(await show("delivery-by-partner")).toEqual([
      {
        partner: "B",
        mail_week: "2026-11-02",
        mailed: 2000,
        delivered: 0,
        delivery_rate: "0.0000",
        median_days: null,
        p90_days: null,
      },
      // mailed 11-03; first deliveries 11-05 (2 days, the 11-07 scan ignored) and 11-06 (3 days)
      {
        partner: "C",
        mail_week: "2026-11-02",
        mailed: 3,
        delivered: 2,
        delivery_rate: "0.6667",
        median_days: 2,
        p90_days: 3,
      },
    ]);
  });

  it("callbacks-by-geography: Los Angeles county by its ZIP; a ZIP the table does not know is an unknown county, not a guess", async () => {
    expect(await show("callbacks-by-geography")).toEqual([
      {
        state: "CA",
        county_fips: "06037",
        county_name: "Los Angeles",
        piece_type: "letter",
        pieces: 2000,
        responders: 130,
        calls: 130,
        callback_rate: "0.0650",
      },
      {
        state: "TX",
        county_fips: null,
        county_name: "unknown",
        piece_type: "postcard",
        pieces: 3,
        responders: 1,
        calls: 1,
        callback_rate: "0.3333",
      },
    ]);
  });

  it("funnel: per partner and mail date, from mortgages to hand-off", async () => {
    expect(await show("funnel")).toEqual([
      {
        partner: "B",
        mail_date: "2026-11-02",
        mortgages: 2000,
        pieces: 2000,
        delivered: 0,
        calls: 130,
        interested: 0,
        leads: 0,
        handed_off: 0,
      },
      {
        partner: "C",
        mail_date: "2026-11-03",
        mortgages: 3,
        pieces: 3,
        delivered: 2,
        calls: 1,
        interested: 1,
        leads: 1,
        handed_off: 1,
      },
    ]);
  });

  it("lead-aging: the interested call at 10:00 handed off the next day at 10:00 waited 24 hours", async () => {
    expect(await show("lead-aging")).toEqual([
      {
        partner: "C",
        interested_on: "2026-11-10",
        leads: 1,
        handed_off: 1,
        waiting: 0,
        median_hours_to_handoff: "24.0",
        p90_hours_to_handoff: "24.0",
        oldest_waiting_hours: null,
      },
    ]);
  });

  it("imports-health and rejects: files, rows, rejected, failed, durations; the rejected row by field and reason", async () => {
    expect(await show("imports-health")).toEqual([
      {
        day: "2026-11-02",
        source: "partner-b-mail-production",
        files: 1,
        rows_read: 2001,
        accepted: 2000,
        rejected: 1,
        failed: 0,
        duplicates: 0,
        in_progress: 0,
        median_seconds: "30.0",
        max_seconds: "30.0",
      },
      {
        day: "2026-11-02",
        source: "partner-c-mail-production",
        files: 1,
        rows_read: 0,
        accepted: 0,
        rejected: 0,
        failed: 1,
        duplicates: 0,
        in_progress: 0,
        median_seconds: "10.0",
        max_seconds: "10.0",
      },
    ]);
    expect(await show("rejects")).toEqual([
      {
        partner: "B",
        source: "partner-b-mail-production",
        field: "imb",
        error_type: "validation",
        reason: "imb: not a barcode",
        rejected_rows: 1,
        outstanding: 1,
        rejected_later: 0,
        files: 1,
      },
    ]);
  });

  it("barcode-quality: pieces, the barcode rejected, the one waiting for its mortgage", async () => {
    expect(await show("barcode-quality")).toEqual([
      {
        partner: "B",
        barcodes_assigned: 1,
        mail_pieces: 2000,
        repaired: 0,
        rejected: 1,
        foreign_claims: 0,
        pending_backfill: 1,
      },
      {
        partner: "C",
        barcodes_assigned: 0,
        mail_pieces: 3,
        repaired: 0,
        rejected: 0,
        foreign_claims: 0,
        pending_backfill: 0,
      },
    ]);
  });

  it("call-matching: a call with no mortgage and no piece is unmatched", async () => {
    expect(await show("call-matching")).toEqual([
      {
        called_on: "2026-11-09",
        calls: 130,
        by_tracking_code: 130,
        by_mortgage_id: 0,
        unmatched: 0,
        match_rate: "1.0000",
      },
      { called_on: "2026-11-10", calls: 2, by_tracking_code: 1, by_mortgage_id: 0, unmatched: 1, match_rate: "0.5000" },
    ]);
  });

  it("compliance-exclusions and touchpoints: the waterfall by rule; the frequency cap's hits beside the touchpoints", async () => {
    expect((await show("compliance-exclusions")).map((r) => [r.rule, r.excluded, r.remaining])).toEqual([
      ["customers", 0, 100],
      ["consent", 20, 80],
      ["frequency_cap", 5, 75],
    ]);
    expect(await show("touchpoints")).toEqual([
      {
        campaign: "recent-bookers",
        channel: "email",
        touched_on: "2026-11-12",
        touchpoints: 3,
        people: 3,
        frequency_cap_hits: 5,
      },
    ]);
  });

  it("golden-records: records, people, links by tier, merges and unmerges per day", async () => {
    expect(await show("golden-records")).toEqual([
      {
        day: "2026-11-04",
        records: 3,
        persons_created: 2,
        links_exact: 1,
        links_strong: 0,
        links_fuzzy: 0,
        links_manual: 0,
        merges: 1,
        unmerges: 0,
      },
      {
        day: "2026-11-05",
        records: 0,
        persons_created: 0,
        links_exact: 0,
        links_strong: 0,
        links_fuzzy: 0,
        links_manual: 0,
        merges: 0,
        unmerges: 1,
      },
    ]);
  });

  it("geography-coverage: the unknown ZIP is counted as unknown", async () => {
    expect(await show("geography-coverage")).toEqual([
      { state: "CA", zip3: "902", mortgages: 2000, county_known: 2000, county_unknown: 0 },
      { state: "TX", zip3: "999", mortgages: 3, county_known: 0, county_unknown: 3 },
    ]);
  });

  it("every report has a data-as-of time; filters take catalogue columns only, as parameters", async () => {
    const listed = await Reports.list(run);
    expect(listed.length).toBeGreaterThanOrEqual(12);
    for (const r of listed) expect(r.data_as_of, r.name).toBeInstanceOf(Date);
    await expect(show("funnel", { "partner; DROP TABLE mortgages": "B" })).rejects.toThrow(
      /has no column "partner; DROP TABLE mortgages"/,
    );
    expect(await show("funnel", { partner: "C'; --" })).toEqual([]);
    expect(() => Reports.get("nope")).toThrow(/unknown report "nope"; the reports are: ab-response/);
  });

  it("`report show` prints every report byte for byte as pinned (--json, --csv, the table; refreshed and never)", async () => {
    // as the CLI reads them: through the read-only role, whole reports as COPY
    await Roles.setRolePasswords(pool, { leadpipe_readonly: pg.secrets.readonly });
    const readonlyUrl = Roles.urlAs(pg.url, Roles.READONLY_ROLE, pg.secrets.readonly);
    const rows: Reports.RunTable = (sql, params) =>
      AdhocSql.table(readonlyUrl, sql, { timeoutMs: 10_000, limit: 0, params });
    const printed: Record<ShowFormat, string> = { json: "", csv: "", table: "" };
    for (const r of Reports.reports) {
      const shown = await Reports.table(rows, run, r.name);
      // the same values as the row objects, filtered (the cursor) and limited too
      expect(shown.rows, r.name).toEqual((await show(r.name)).map((o) => shown.columns.map((c) => o[c])));
      const first = shown.rows[0];
      if (first) {
        const where = [{ column: shown.columns[0]!, value: first[0] === null ? null : String(first[0]) }];
        const filtered = await Reports.table(rows, run, r.name, where, 2);
        const objects = (await Reports.show(run, r.name, where, 2)).rows;
        expect(filtered.rows, r.name).toEqual(objects.map((o) => shown.columns.map((c) => o[c])));
        expect((await Reports.table(rows, run, r.name, [], 1)).rows, r.name).toEqual([first]);
      }
      for (const format of ["json", "csv", "table"] as const) {
        printed[format] += `== ${r.name} (refreshed)\n${renderShown({ ...shown, dataAsOf: AS_OF }, format)}`;
        printed[format] += `== ${r.name} (never refreshed)\n${renderShown({ ...shown, dataAsOf: null }, format)}`;
      }
    }
    expect(printed.csv).toContain("callbacks-by-geography (refreshed)\nstate,county_fips,county_name,piece_type,");
    for (const format of ["json", "csv", "table"] as const)
      await expect(printed[format]).toMatchFileSnapshot(`./__snapshots__/report-show.${format}.txt`);
  });

  it("the console's CSV export of every report is `report show --csv`, byte for byte (whole and filtered)", async () => {
    await Roles.setRolePasswords(pool, { leadpipe_readonly: pg.secrets.readonly });
    const readonlyUrl = Roles.urlAs(pg.url, Roles.READONLY_ROLE, pg.secrets.readonly);
    const rows: Reports.RunTable = (sql, params) =>
      AdhocSql.table(readonlyUrl, sql, { timeoutMs: 10_000, limit: 0, params });
    await addUser(pool, "analyst1", "analyst", "correct horse battery staple");
    const web = await startConsole(testConsoleDeps({ pool, readonlyUrl, tmp }));
    try {
      const browser = new ConsoleClient(web.url);
      expect((await browser.login("analyst1", "correct horse battery staple")).status).toBe(303);
      let exported = 0;
      for (const r of Reports.reports) {
        const whole = await Reports.table(rows, run, r.name);
        const res = await browser.get(`/reports/${r.name}/csv`);
        expect(res.status, r.name).toBe(200);
        expect(await res.text(), r.name).toBe(renderShown(whole, "csv"));
        const first = whole.rows[0];
        if (!first) continue;
        const value = first[0] === null ? "" : String(first[0]);
        const filtered = await Reports.table(rows, run, r.name, [{ column: whole.columns[0]!, value: value || null }]);
        const q = new URLSearchParams({ where: `${whole.columns[0]}=${value}` });
        expect(await (await browser.get(`/reports/${r.name}/csv?${q}`)).text(), r.name).toBe(
          renderShown(filtered, "csv"),
        );
        exported += whole.rows.length;
      }
      expect(exported).toBeGreaterThan(20);
    } finally {
      await web.close();
    }
  });
});

/** Every report's rows, for before/after comparisons. */
async function everyReport() {
  const out: Record<string, unknown[]> = {};
  for (const r of Reports.reports) out[r.name] = await show(r.name);
  return out;
}

/** Stages production rows as chunk 0 of an import and promotes them through the target, as a chunk does. */
async function landProduction(
  importId: string,
  rows: { tracking: string; partner: string; version: string; day: string }[],
) {
  return withTransaction(pool, async (client) => {
    await client.query("DELETE FROM staging_mail_production WHERE import_id = $1", [importId]);
    await client.query(
      `INSERT INTO staging_mail_production (import_id, chunk_index, source_row, src_seq, partner, tracking_code, imb_raw, mail_date,
                                            mailer_version, piece_type, campaign)
       SELECT $1, 0, i, 1000000 + i, partner, tracking, tracking, day::date, version, 'letter', 'WINTER'
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS u(tracking, partner, version, day, i)`,
      [
        importId,
        rows.map((r) => r.tracking),
        rows.map((r) => r.partner),
        rows.map((r) => r.version),
        rows.map((r) => r.day),
      ],
    );
    return mailProductionTarget.promote(client, importId, 0, {
      rows: rows.length,
      distinctKeys: rows.length,
      filled: new Set(),
      inKeyOrder: false,
    });
  });
}

describe("refresh and imports", () => {
  const WINTER = "00000000-0000-4000-8000-000000000010";

  it("re-running an import changes no report; another partner's production row is refused and changes nothing", async () => {
    await pool.query(
      `INSERT INTO mail_pieces (tracking_code, partner, mortgage_id, import_id, source_row, src_seq)
       SELECT lpad(n::text, 20, '0'), 'B', 'B' || (n - 4000), $1::uuid, n, n FROM generate_series(4001, 4004) n`,
      [IMPORT],
    );
    const rows = [4001, 4002, 4003, 4004].map((n) => ({
      tracking: code(n),
      partner: "B",
      version: n % 2 ? "A" : "B",
      day: "2026-11-16",
    }));
    const foreign = { tracking: code(3001), partner: "D", version: "A", day: "2026-11-16" };
    const first = await landProduction(WINTER, [...rows, foreign]);
    expect(first).toMatchObject({ inserted: 4, updated: 0 });
    expect(first.rejects).toEqual([
      {
        sourceRow: 5,
        field: "imb",
        value: code(3001),
        reason: "mail piece belongs to partner C; a partner's production file cannot change another partner's piece",
      },
    ]);
    await Reports.refreshPending(pool);
    const before = await everyReport();
    expect(before["funnel"]).toContainEqual({
      partner: "B",
      mail_date: "2026-11-16",
      mortgages: 4,
      pieces: 4,
      delivered: 0,
      calls: 0,
      interested: 0,
      leads: 0,
      handed_off: 0,
    });
    const again = await landProduction(WINTER, [...rows, foreign]);
    expect(again).toMatchObject({ inserted: 0, updated: 0 });
    await Reports.refreshPending(pool);
    expect(await everyReport()).toEqual(before);
  });

  it("a refresh in progress blocks no import, and readers see the old report until it commits, never a half", async () => {
    // a day marked dirty; the refresher rebuilds it in a transaction left open
    await pool.query(
      `INSERT INTO mail_piece_production (tracking_code, partner, mail_date, mailer_version, piece_type, campaign, import_id, source_row, src_seq)
       SELECT lpad(n::text, 20, '0'), 'B', date '2026-11-23', 'A', 'letter', 'WINTER', $1::uuid, n, n FROM generate_series(5001, 5010) n`,
      [IMPORT],
    );
    const funnelOf = async (day: string) => await show("funnel", { mail_date: day });
    const refresher = await pool.connect();
    const importer = await pool.connect();
    try {
      await refresher.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      expect((await refresher.query("SELECT refresh_mail_rollups() AS pieces")).rows[0].pieces).toBe(10);
      await refresher.query("SELECT refresh_mortgage_rollups(), refresh_call_rollups()");
      await refresher.query("REFRESH MATERIALIZED VIEW CONCURRENTLY report_imports_health");
      const callsBefore = await show("call-matching", { called_on: "2026-11-23" });
      // an import lands meanwhile: production rows of the same and another day, a new import row, a reject
      await importer.query("SET lock_timeout = '2s'");
      const t0 = performance.now();
      await importer.query("BEGIN");
      await importer.query(
        `INSERT INTO mail_piece_production (tracking_code, partner, mail_date, mailer_version, piece_type, campaign, import_id, source_row, src_seq)
         SELECT lpad(n::text, 20, '0'), 'B', date '2026-11-23' + (n % 2), 'B', 'letter', 'WINTER', $1::uuid, n, n
         FROM generate_series(5011, 5020) n`,
        [IMPORT],
      );
      await importer.query(
        `INSERT INTO imports (bucket, object_key, event_key, file_name, source, status) VALUES ('b', 'k3', 'e3', 'f.csv', 'x', 'COMPLETE')`,
      );
      // and a call and a mortgage, whose rollups the refresher has just folded
      await importer.query(
        `INSERT INTO call_responses (caller_phone, called_at, disposition, import_id, source_row, src_seq)
         VALUES ('+16175550100', '2026-11-23 09:00Z', 'callback', $1, 9001, 9001)`,
        [IMPORT],
      );
      await importer.query(
        `INSERT INTO mortgages (mortgage_id, partner, property_state, property_zip5, closing_date, import_id, source_row, src_seq)
         VALUES ('B-CONCURRENT', 'B', 'CA', '90210', '2026-11-23', $1, 9002, 9002)`,
        [IMPORT],
      );
      await importer.query("COMMIT");
      expect(performance.now() - t0).toBeLessThan(1000);
      // readers: the refresh has not committed, so the old report (no 11-23 row at all)
      expect(await funnelOf("2026-11-23")).toEqual([]);
      await refresher.query("COMMIT");
      // the refresh's snapshot: its 10 pieces, whole
      expect(await funnelOf("2026-11-23")).toEqual([
        {
          partner: "B",
          mail_date: "2026-11-23",
          mortgages: 0,
          pieces: 10,
          delivered: 0,
          calls: 0,
          interested: 0,
          leads: 0,
          handed_off: 0,
        },
      ]);
      // the import's pieces stayed marked: the next refresh takes them
      expect(
        (await pool.query("SELECT count(DISTINCT tracking_code)::int AS n FROM report_dirty_pieces")).rows[0].n,
      ).toBe(10);
      expect(callsBefore).toEqual([]);
      expect(await show("call-matching", { called_on: "2026-11-23" })).toEqual([]);
      expect(await show("mortgages-by-partner-day", { closing_date: "2026-11-23" })).toEqual([]);
      const r = await Reports.refreshPending(pool);
      expect(r).toMatchObject({ ran: true, pieces: 10 });
      expect(await show("call-matching", { called_on: "2026-11-23" })).toEqual([
        {
          called_on: "2026-11-23",
          calls: 1,
          by_tracking_code: 0,
          by_mortgage_id: 0,
          unmatched: 1,
          match_rate: "0.0000",
        },
      ]);
      expect(await show("mortgages-by-partner-day", { closing_date: "2026-11-23" })).toEqual([
        { partner: "B", closing_date: "2026-11-23", mortgages: 1, total_loan_amount: "0" },
      ]);
      // gone again, so the tests after this one see the world as built
      await pool.query("DELETE FROM call_responses WHERE caller_phone = '+16175550100'");
      await pool.query("DELETE FROM mortgages WHERE mortgage_id = 'B-CONCURRENT'");
      await Reports.refreshPending(pool);
      expect(await show("call-matching", { called_on: "2026-11-23" })).toEqual([]);
      expect(await funnelOf("2026-11-23")).toEqual([expect.objectContaining({ pieces: 15 })]);
      expect(await funnelOf("2026-11-24")).toEqual([expect.objectContaining({ pieces: 5 })]);
    } finally {
      await refresher.query("ROLLBACK").catch(() => undefined);
      refresher.release();
      importer.release();
    }
  });

  it("coalesced: while another session refreshes, a finished import's refresh returns at once and its marks wait for the holder", async () => {
    const holder = await pool.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(hashtext('leadpipe'), hashtext('reports-refresh'))");
      await Reports.markStale(pool, ["call_responses"]);
      const t0 = performance.now();
      expect(await Reports.refreshPending(pool)).toEqual({ ran: false, pieces: 0, views: [] });
      expect(performance.now() - t0).toBeLessThan(500);
      expect((await pool.query("SELECT count(*)::int AS n FROM report_stale_views")).rows[0].n).toBeGreaterThan(0);
    } finally {
      await holder.query("SELECT pg_advisory_unlock(hashtext('leadpipe'), hashtext('reports-refresh'))");
      holder.release();
    }
    const r = await Reports.refreshPending(pool);
    expect(r.ran).toBe(true);
    // lead-aging and rejects are rollups now (migration 295): folded, not refreshed as views
    expect(r.views.sort()).toEqual(["report_imports_by_day", "report_imports_health"]);
    expect((await pool.query("SELECT count(*)::int AS n FROM report_stale_views")).rows[0].n).toBe(0);
  });

  it("a full refresh rebuilds the same rollups the incremental path kept (after an address change, an amount change, a delete)", async () => {
    // B1's property (its pieces 1 and 4001) moves from Beverly Hills to an unknown ZIP; B2's amount changes; C3003's mortgage goes
    await pool.query("UPDATE mortgages SET property_zip5 = '99998', property_state = 'NV' WHERE mortgage_id = 'B1'");
    await pool.query("UPDATE mortgages SET loan_amount = 250000 WHERE mortgage_id = 'B2'");
    await pool.query("UPDATE mail_pieces SET mortgage_id = NULL WHERE mortgage_id = 'C3003'");
    await pool.query("DELETE FROM mortgages WHERE mortgage_id = 'C3003'");
    // calls: the unmatched one is matched by mortgage id, one of 11-09's goes, one moves to 11-11, one is
    // rewritten unchanged (no difference)
    await pool.query("UPDATE call_responses SET match_method = 'mortgage_id' WHERE caller_phone = '+14155550199'");
    await pool.query("DELETE FROM call_responses WHERE caller_phone = '+12125550001'");
    await pool.query("UPDATE call_responses SET called_at = '2026-11-11 08:00Z' WHERE caller_phone = '+12125550002'");
    await pool.query("UPDATE call_responses SET disposition = disposition WHERE caller_phone = '+12125550003'");
    // barcode-quality, rejects, lead-aging (migration 295): B2's barcode assigned (its piece exists: not pending), the
    // late barcode's mortgage arrives in a piece of its own, a second reject, the hand-off moves two hours later
    await pool.query(
      `INSERT INTO barcode_assignments (tracking_code, partner, mortgage_id, imb_raw, import_id, source_row, src_seq)
       VALUES ($1, 'B', 'B2', 'raw', $2, 10, 10)`,
      [code(2), IMPORT],
    );
    await pool.query(
      `INSERT INTO mail_pieces (tracking_code, partner, mortgage_id, import_id, source_row, src_seq) VALUES ($1, 'B', 'B-LATE', $2, 11, 11)`,
      [code(9999), IMPORT],
    );
    await pool.query(
      `INSERT INTO import_rejects (import_id, chunk_index, row_number, error_type, field_name, field_value, error_message)
       VALUES ($1, 0, 8, 'validation', 'mail_date', '31/02', 'mail_date: not a date')`,
      [IMPORT],
    );
    await pool.query("UPDATE lead_handoff_items SET handed_off_at = handed_off_at + interval '2 hours'");
    await Reports.refreshPending(pool);
    const incremental = await everyReport();
    expect(incremental["barcode-quality"]).toContainEqual(
      expect.objectContaining({
        partner: "B",
        barcodes_assigned: 2,
        mail_pieces: 2005,
        rejected: 1,
        pending_backfill: 0,
      }),
    );
    expect(incremental["rejects"]).toContainEqual(
      expect.objectContaining({ field: "mail_date", rejected_rows: 1, files: 1 }),
    );
    expect(incremental["lead-aging"]).toEqual([
      expect.objectContaining({ partner: "C", median_hours_to_handoff: "26.0" }),
    ]);
    expect(incremental["call-matching"]).toEqual([
      {
        called_on: "2026-11-09",
        calls: 128,
        by_tracking_code: 128,
        by_mortgage_id: 0,
        unmatched: 0,
        match_rate: "1.0000",
      },
      { called_on: "2026-11-10", calls: 2, by_tracking_code: 1, by_mortgage_id: 1, unmatched: 0, match_rate: "1.0000" },
      { called_on: "2026-11-11", calls: 1, by_tracking_code: 1, by_mortgage_id: 0, unmatched: 0, match_rate: "1.0000" },
    ]);
    expect(incremental["mortgages-by-partner-day"]).toEqual([
      { partner: "B", closing_date: null, mortgages: 2000, total_loan_amount: "250000.00" },
      { partner: "C", closing_date: null, mortgages: 2, total_loan_amount: "0" },
    ]);
    expect(incremental["geography-coverage"]).toContainEqual({
      state: "NV",
      zip3: "999",
      mortgages: 1,
      county_known: 0,
      county_unknown: 1,
    });
    expect(incremental["callbacks-by-geography"]).toContainEqual(
      expect.objectContaining({ state: "NV", county_fips: null, pieces: 2 }),
    );
    await Reports.refreshAll(pool, { full: true });
    const full = await everyReport();
    for (const r of Reports.rollupReports()) expect(full[r.name], r.name).toEqual(incremental[r.name]);
    expect((await pool.query("SELECT mode FROM report_refreshes WHERE report = 'funnel'")).rows[0].mode).toBe("full");
  });

  it("callbacks-by-geography names its counties as the ZIP table does after the rebuild a new ZIP table asks for", async () => {
    const la = async () =>
      (await show("callbacks-by-geography", { county_fips: "06037" })).map((r) => r.county_name as string);
    expect(await la()).toEqual(["Los Angeles"]);
    await pool.query("UPDATE counties SET county_name = 'Los Angeles (renamed)' WHERE county_fips = '06037'");
    try {
      // what Reports.loadZipCounties asks for when the package's table changed
      await pool.query("INSERT INTO report_stale_views (view_name) VALUES ('mail-rollups:full')");
      await Reports.refreshPending(pool);
      expect(await la()).toEqual(["Los Angeles (renamed)"]);
    } finally {
      await pool.query("UPDATE counties SET county_name = 'Los Angeles' WHERE county_fips = '06037'");
      await Reports.refreshAll(pool, { full: true });
    }
    expect(await la()).toEqual(["Los Angeles"]);
  });

  it("a statement's mortgage difference is written once per grain, and a delta from before the grains counts at both", async () => {
    // 1,000 new mortgages on one closing day in one ZIP: one 'day' row and one 'zip' row, not one per mortgage
    await pool.query(
      `INSERT INTO mortgages (mortgage_id, partner, property_state, property_zip5, loan_amount, closing_date, import_id, source_row, src_seq)
       SELECT 'W' || n, 'B', 'WY', '82001', 100, date '2026-01-05', $1::uuid, n, n FROM generate_series(1, 1000) n`,
      [IMPORT],
    );
    const { rows: deltas } = await pool.query(
      "SELECT grain, partner, closing_date::text, state, zip5, mortgages::int, total_loan_amount::text FROM report_mortgage_deltas ORDER BY grain",
    );
    expect(deltas).toEqual([
      {
        grain: "day",
        partner: "B",
        closing_date: "2026-01-05",
        state: null,
        zip5: null,
        mortgages: 1000,
        total_loan_amount: "100000.00",
      },
      {
        grain: "zip",
        partner: "B",
        closing_date: null,
        state: "WY",
        zip5: "82001",
        mortgages: 1000,
        total_loan_amount: "100000.00",
      },
    ]);
    // a row as the triggers wrote it before migration 200: both grains in one
    await pool.query(
      `INSERT INTO report_mortgage_deltas (grain, partner, closing_date, state, zip5, mortgages, total_loan_amount)
       VALUES ('day_and_zip', 'B', '2026-01-05', 'WY', '82001', 2, 500)`,
    );
    await Reports.refreshPending(pool);
    const after = await everyReport();
    expect(after["mortgages-by-partner-day"]).toContainEqual({
      partner: "B",
      closing_date: "2026-01-05",
      mortgages: 1002,
      total_loan_amount: "100500.00",
    });
    expect(after["geography-coverage"]).toContainEqual({
      state: "WY",
      zip3: "820",
      mortgages: 1002,
      county_known: 1002,
      county_unknown: 0,
    });
  });
});

/**
 * What the three materialized views computed (migration 101), run on the tables as they are: the
 * rollups that replaced them (migration 295) must give the same rows. lead-aging counted the oldest
 * waiting lead's hours at now() of its refresh; the rollup counts them at the report's data-as-of.
 */
const VIEWS_THAT_WERE = {
  "lead-aging": `
    SELECT l.partner, (l.interested_at AT TIME ZONE 'UTC')::date AS interested_on, count(*) AS leads, count(h.lead_id) AS handed_off,
           count(*) - count(h.lead_id) AS waiting,
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM h.handed_off_at - l.interested_at) / 3600)
                  FILTER (WHERE h.lead_id IS NOT NULL))::numeric, 1) AS median_hours_to_handoff,
           round((percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM h.handed_off_at - l.interested_at) / 3600)
                  FILTER (WHERE h.lead_id IS NOT NULL))::numeric, 1) AS p90_hours_to_handoff,
           round((max(extract(epoch FROM (SELECT data_as_of FROM report_refreshes WHERE report = 'lead-aging') - l.interested_at) / 3600)
                  FILTER (WHERE h.lead_id IS NULL))::numeric, 1) AS oldest_waiting_hours
    FROM leads l LEFT JOIN lead_handoff_items h ON h.lead_id = l.id GROUP BY 1, 2`,
  rejects: `
    SELECT coalesce(i.partner, '-') AS partner, coalesce(i.source, '(unknown)') AS source, coalesce(r.field_name, '-') AS field,
           r.error_type, r.error_message AS reason, count(*) AS rejected_rows, count(*) FILTER (WHERE r.resolved_by IS NULL) AS outstanding,
           count(*) FILTER (WHERE r.rejected_later_by IS NOT NULL) AS rejected_later, count(DISTINCT r.import_id) AS files
    FROM import_rejects r JOIN imports i ON i.id = r.import_id GROUP BY 1, 2, 3, 4, 5`,
  "barcode-quality": `
    WITH partners AS (
      SELECT partner FROM barcode_assignments UNION SELECT partner FROM mail_pieces
      UNION SELECT i.partner FROM import_rejects r JOIN imports i ON i.id = r.import_id
       WHERE i.partner IS NOT NULL AND r.field_name IN ('imb', 'barcode_id', 'tracking_code')
    )
    SELECT p.partner,
           (SELECT count(*) FROM barcode_assignments a WHERE a.partner = p.partner) AS barcodes_assigned,
           (SELECT count(*) FROM mail_pieces m WHERE m.partner = p.partner) AS mail_pieces,
           (SELECT count(*) FROM staging_barcode_map s WHERE s.partner = p.partner AND s.imb_repaired)
             + (SELECT count(*) FROM staging_mortgages s WHERE s.partner = p.partner AND s.imb_repaired) AS repaired,
           (SELECT count(*) FROM import_rejects r JOIN imports i ON i.id = r.import_id
             WHERE i.partner = p.partner AND r.field_name IN ('imb', 'barcode_id', 'tracking_code') AND r.rejected_later_by IS NULL)
             AS rejected,
           (SELECT count(*) FROM import_rejects r JOIN imports i ON i.id = r.import_id
             WHERE i.partner = p.partner AND r.rejected_later_by IS NOT NULL) AS foreign_claims,
           (SELECT count(*) FROM barcode_assignments a WHERE a.partner = p.partner
               AND NOT EXISTS (SELECT 1 FROM mail_pieces m WHERE m.tracking_code = a.tracking_code)) AS pending_backfill
    FROM partners p WHERE p.partner IS NOT NULL`,
} as const;

/** Rows the view that was gives and the rollup's report does not, and the other way round: none. */
async function differencesFromTheView(name: keyof typeof VIEWS_THAT_WERE) {
  const relation = Reports.get(name).relation;
  const was = VIEWS_THAT_WERE[name];
  const { rows } = await pool.query(
    `SELECT 'only in the view' AS side, * FROM ((${was}) EXCEPT ALL SELECT * FROM ${relation}) a
     UNION ALL SELECT 'only in the rollup', * FROM (SELECT * FROM ${relation} EXCEPT ALL (${was})) b`,
  );
  return rows;
}

describe("barcode-quality, rejects and lead-aging as rollups (migration 295)", () => {
  const MAP = "00000000-0000-4000-8000-000000000020";
  const MAP2 = "00000000-0000-4000-8000-000000000021";
  const later = async (sql: string, params: unknown[] = []) => pool.query(sql, params);
  const quality = async (partner: string) => (await show("barcode-quality", { partner }))[0];

  beforeAll(async () => {
    await later(
      `INSERT INTO imports (id, bucket, object_key, event_key, file_name, source, partner, status, created_at)
       VALUES ($1, 'b', 'k20', 'e20', 'partner-d-barcode-map.csv', 'partner-d-barcode-map', 'D', 'COMPLETE', '2026-11-20 08:00Z'),
              ($2, 'b', 'k21', 'e21', 'partner-d-barcode-map-2.csv', 'partner-d-barcode-map', 'D', 'COMPLETE', '2026-11-21 08:00Z')`,
      [MAP, MAP2],
    );
  });

  /** Stages a barcode-map chunk (the repaired flag as the decoder set it) and promotes its assignments, as a chunk does. */
  async function landBarcodeMap(codes: number[], repaired: number[]) {
    await withTransaction(pool, async (client) => {
      await client.query("DELETE FROM staging_barcode_map WHERE import_id = $1 AND chunk_index = 0", [MAP]);
      await client.query(
        `INSERT INTO staging_barcode_map (import_id, chunk_index, source_row, src_seq, partner, mortgage_id, imb_raw, imb_encoding,
                                          imb_repaired, tracking_code)
         SELECT $1, 0, n, n, 'D', 'D' || n, 'raw' || n, 'numeric', n = ANY($3::int[]), lpad(n::text, 20, '0')
         FROM unnest($2::int[]) n`,
        [MAP, codes, repaired],
      );
      await client.query(
        `INSERT INTO barcode_assignments (tracking_code, partner, mortgage_id, imb_raw, import_id, source_row, src_seq)
         SELECT tracking_code, partner, mortgage_id, imb_raw, import_id, source_row, src_seq FROM staging_barcode_map
         WHERE import_id = $1 AND chunk_index = 0 ON CONFLICT (tracking_code) DO NOTHING`,
        [MAP],
      );
    });
  }

  it("barcode-quality: a barcode map lands, its repaired rows and pending barcodes count once, a retried chunk again once", async () => {
    await landBarcodeMap([7001, 7002, 7003], [7001, 7002]);
    await Reports.refreshPending(pool);
    const landed = {
      partner: "D",
      barcodes_assigned: 3,
      mail_pieces: 0,
      repaired: 2,
      rejected: 0,
      foreign_claims: 0,
      pending_backfill: 3,
    };
    expect(await quality("D")).toEqual(landed);
    // the chunk retried (its staging rows deleted and staged again, the assignments upserted again), then a refresh with nothing new
    await landBarcodeMap([7001, 7002, 7003], [7001, 7002]);
    await Reports.refreshPending(pool);
    await Reports.refreshPending(pool);
    expect(await quality("D")).toEqual(landed);
    // D7001's mortgage arrives: its piece is linked, it waits no more
    await later(
      `INSERT INTO mail_pieces (tracking_code, partner, mortgage_id, import_id, source_row, src_seq) VALUES ($1, 'D', 'D7001', $2, 1, 1)`,
      [code(7001), MAP],
    );
    await Reports.refreshPending(pool);
    expect(await quality("D")).toEqual({ ...landed, mail_pieces: 1, pending_backfill: 2 });
    // the piece and an assignment go (a partner's data withdrawn): counted off, D7001 waits again
    await later("DELETE FROM mail_pieces WHERE tracking_code = $1", [code(7001)]);
    await later("DELETE FROM barcode_assignments WHERE tracking_code = $1", [code(7003)]);
    await Reports.refreshPending(pool);
    expect(await quality("D")).toEqual({ ...landed, barcodes_assigned: 2, pending_backfill: 2 });
    expect(await differencesFromTheView("barcode-quality")).toEqual([]);
  });

  it("rejects: a file's rejected rows land once, a retried chunk counts once, a second file counts as a second file", async () => {
    const reject = (importId: string) =>
      withTransaction(pool, async (client) => {
        // what a chunk (re)run does: its rejects replaced
        await client.query("DELETE FROM import_rejects WHERE import_id = $1 AND chunk_index = 0", [importId]);
        await client.query(
          `INSERT INTO import_rejects (import_id, chunk_index, row_number, error_type, field_name, field_value, error_message)
           VALUES ($1, 0, 1, 'validation', 'imb', 'x', 'imb: not a barcode'), ($1, 0, 2, 'validation', 'imb', 'y', 'imb: not a barcode'),
                  ($1, 0, 3, 'validation', NULL, NULL, 'row has 3 columns, expected 5')`,
          [importId],
        );
      });
    const dRejects = async () => await show("rejects", { partner: "D" });
    await reject(MAP);
    await Reports.refreshPending(pool);
    const once = [
      {
        partner: "D",
        source: "partner-d-barcode-map",
        field: "-",
        error_type: "validation",
        reason: "row has 3 columns, expected 5",
        rejected_rows: 1,
        outstanding: 1,
        rejected_later: 0,
        files: 1,
      },
      {
        partner: "D",
        source: "partner-d-barcode-map",
        field: "imb",
        error_type: "validation",
        reason: "imb: not a barcode",
        rejected_rows: 2,
        outstanding: 2,
        rejected_later: 0,
        files: 1,
      },
    ];
    expect(await dRejects()).toEqual(once);
    expect(await quality("D")).toMatchObject({ rejected: 2, foreign_claims: 0 });
    await reject(MAP);
    await Reports.refreshPending(pool);
    expect(await dRejects()).toEqual(once);
    // a second file with the same reasons; then an errors-only replay resolves the first file's rows
    await reject(MAP2);
    await later("UPDATE import_rejects SET resolved_by = $2 WHERE import_id = $1", [MAP, MAP2]);
    // and a map row of MAP2 rejected later, as a foreign claim
    await later(
      `INSERT INTO import_rejects (import_id, chunk_index, row_number, error_type, field_name, field_value, error_message, rejected_later_by)
       VALUES ($1, 1, 9, 'rule', 'mortgage_id', 'B1', 'mortgage B1 belongs to partner B', $2)`,
      [MAP2, IMPORT],
    );
    await Reports.refreshPending(pool);
    expect((await dRejects()).map((r) => [r.field, r.rejected_rows, r.outstanding, r.rejected_later, r.files])).toEqual(
      [
        ["-", 2, 1, 0, 2],
        ["imb", 4, 2, 0, 2],
        ["mortgage_id", 1, 1, 1, 1],
      ],
    );
    expect(await quality("D")).toMatchObject({ rejected: 4, foreign_claims: 1 });
    // the second file deleted with its rejects: one file again, none resolved by it any more
    await later("UPDATE import_rejects SET resolved_by = NULL WHERE resolved_by = $1", [MAP2]);
    await later("DELETE FROM imports WHERE id = $1", [MAP2]);
    await Reports.refreshPending(pool);
    expect(await dRejects()).toEqual(once);
    expect(await differencesFromTheView("rejects")).toEqual([]);
    expect(await differencesFromTheView("barcode-quality")).toEqual([]);
  });

  it("lead-aging: a lead lands in its day once, waits until handed off; a re-run of the same leads changes nothing", async () => {
    const { rows: calls } = await later("SELECT id FROM call_responses ORDER BY id LIMIT 1");
    const landLeads = () =>
      later(
        `INSERT INTO leads (caller_phone, tracking_code, mortgage_id, partner, interested_at, first_response_id)
         VALUES ('+15555550001', $1, 'B1', 'B', '2026-11-20 06:00Z', $2), ('+15555550002', $1, 'B1', 'B', '2026-11-20 18:00Z', $2)
         ON CONFLICT (caller_phone, tracking_code) DO NOTHING`,
        [code(1), calls[0].id],
      );
    await landLeads();
    await Reports.refreshPending(pool);
    const day = async () => await show("lead-aging", { interested_on: "2026-11-20" });
    const {
      rows: [{ asof }],
    } = await later("SELECT data_as_of AS asof FROM report_refreshes WHERE report = 'lead-aging'");
    const waitedHours = ((asof as Date).getTime() - Date.parse("2026-11-20T06:00:00Z")) / 3_600_000;
    const waiting = await day();
    expect(waiting).toEqual([
      {
        partner: "B",
        interested_on: "2026-11-20",
        leads: 2,
        handed_off: 0,
        waiting: 2,
        median_hours_to_handoff: null,
        p90_hours_to_handoff: null,
        oldest_waiting_hours: waitedHours.toFixed(1),
      },
    ]);
    await landLeads();
    await Reports.refreshPending(pool);
    expect((await day())[0]).toMatchObject({ leads: 2, waiting: 2 });
    // the 06:00 lead handed off at 18:00 the same day
    await later(
      `INSERT INTO lead_handoffs (day, file_key, handed_off_at, leads, sha256) VALUES ('2026-11-20', 'outbox/leads/y.csv', '2026-11-20 18:00Z', 1, 'y')`,
    );
    await later(
      `INSERT INTO lead_handoff_items (lead_id, day, file_key, handed_off_at, cells)
       SELECT id, '2026-11-20', 'outbox/leads/y.csv', '2026-11-20 18:00Z', '{}' FROM leads WHERE caller_phone = '+15555550001'`,
    );
    await Reports.refreshPending(pool);
    expect((await day())[0]).toMatchObject({
      leads: 2,
      handed_off: 1,
      waiting: 1,
      median_hours_to_handoff: "12.0",
      p90_hours_to_handoff: "12.0",
    });
    // the other lead's interested call moves to the next day: both days recomputed
    await later("UPDATE leads SET interested_at = '2026-11-21 09:00Z' WHERE caller_phone = '+15555550002'");
    await Reports.refreshPending(pool);
    expect((await day())[0]).toMatchObject({ leads: 1, handed_off: 1, waiting: 0, oldest_waiting_hours: null });
    expect(await show("lead-aging", { interested_on: "2026-11-21" })).toEqual([
      expect.objectContaining({ partner: "B", leads: 1, waiting: 1 }),
    ]);
    expect(await differencesFromTheView("lead-aging")).toEqual([]);
  });

  it("each gives what its materialized view gave, folded or rebuilt in full", async () => {
    for (const name of ["lead-aging", "rejects", "barcode-quality"] as const) {
      expect((await show(name)).length, name).toBeGreaterThan(0);
      expect(await differencesFromTheView(name), name).toEqual([]);
    }
    const folded = await everyReport();
    await Reports.refreshAll(pool, { full: true });
    for (const name of ["lead-aging", "rejects", "barcode-quality"] as const) {
      expect(await differencesFromTheView(name), name).toEqual([]);
    }
    const rebuilt = await everyReport();
    // the oldest waiting lead's hours count at each refresh's data-as-of: compare the rest
    const withoutHours = (rows: unknown[]) =>
      rows.map((r) => ({ ...(r as Record<string, unknown>), oldest_waiting_hours: undefined }));
    expect(withoutHours(rebuilt["lead-aging"]!)).toEqual(withoutHours(folded["lead-aging"]!));
    expect(rebuilt["rejects"]).toEqual(folded["rejects"]);
    expect(rebuilt["barcode-quality"]).toEqual(folded["barcode-quality"]);
  });
});
