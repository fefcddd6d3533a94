/**
 * The reporting layer's data set at scale, built in SQL with generate_series (no files), with the
 * reporting triggers and FK checks off (a bulk load, as a restore would be). Shared by bench/reports.ts
 * and bench/console.ts; the client must be a superuser's (session_replication_role).
 *
 * Scale 1: 10M mortgages, 10M pieces (each with the barcode assignment it was linked from, and 100k
 * assignments still waiting for their mortgage), 8M deliveries, 2M calls, leads from the interested
 * tenth, 2,000 imports with 200k rejected rows.
 */
import type { PoolClient } from "pg";

export interface ReportDataSize {
  mortgages: number;
  pieces: number;
  deliveries: number;
  calls: number;
  imports: number;
  rejects: number;
  /** Barcode assignments whose mortgage has not arrived (no mail piece). */
  pendingBarcodes: number;
}

export function reportDataSize(scale: number): ReportDataSize {
  return {
    mortgages: Math.round(10_000_000 * scale),
    pieces: Math.round(10_000_000 * scale),
    deliveries: Math.round(8_000_000 * scale),
    calls: Math.round(2_000_000 * scale),
    imports: Math.max(10, Math.round(2000 * scale)),
    rejects: Math.round(200_000 * scale),
    pendingBarcodes: Math.round(100_000 * scale),
  };
}

/** The import every generated row points at (it need not exist: FK checks are off during the load). */
export const BENCH_IMPORT = "00000000-0000-4000-8000-00000000b001";

/**
 * Where a mail date's pieces sit. "by-date" as production has them: each day's file lands together and
 * a mailing's serial numbers run in sequence, so a date's pieces are adjacent in the tables and their
 * indexes. "scattered" deals piece n to date n % mailDays: every piece a day touches is on a page of
 * its own, the worst case for the look-ups of the refresh after a day.
 */
export type MailLayout = "by-date" | "scattered";

/** The mail date offset (days after 2026-01-01) of piece number `n` (an SQL expression over `n`). */
export function mailDayOf(n: string, pieces: number, mailDays: number, layout: MailLayout): string {
  const perDay = Math.floor(pieces / mailDays);
  return layout === "scattered" ? `(${n} % ${mailDays})` : `least(${mailDays - 1}, (${n} - 1) / ${perDay})`;
}

/**
 * Builds the data set on `client` (a superuser's). `mailDays`: the mail dates the pieces are spread over
 * (330 at scale 1 gives 30k pieces a date, about a day's mail), laid out as `layout` says. Each
 * statement's time goes to `step`. One call in fifty (besides every tenth) is interested.
 */
export async function buildReportData(
  client: PoolClient,
  N: ReportDataSize,
  mailDays: number,
  step: (what: string) => void,
  importId = BENCH_IMPORT,
  layout: MailLayout = "by-date",
): Promise<void> {
  const mailDay = (n: string) => mailDayOf(n, N.pieces, mailDays, layout);
  const q = async (sql: string, params?: unknown[]) => {
    const t0 = performance.now();
    const r = await client.query(sql, params);
    step(`${sql.replace(/\s+/g, " ").trim().slice(0, 60)}: ${(performance.now() - t0).toFixed(0)} ms`);
    return r;
  };
  // a bulk load: the reporting triggers (and FK checks) off, as a restore would be
  await q("SET session_replication_role = replica");
  await q(`CREATE TEMP TABLE bench_zips AS
    SELECT (row_number() OVER (ORDER BY zip5) - 1)::int AS i, zip5, state FROM zip_counties`);
  await q("ALTER TABLE bench_zips ADD PRIMARY KEY (i)");
  await q("ANALYZE bench_zips");
  const {
    rows: [{ n: zips }],
  } = await q("SELECT count(*)::int AS n FROM bench_zips");
  // one mortgage in 20 has a ZIP the table does not know
  step("mortgages");
  await q(
    `INSERT INTO mortgages (mortgage_id, partner, property_state, property_zip5, loan_amount, closing_date, import_id, source_row, src_seq)
     SELECT 'M' || n, chr(65 + n % 4), z.state, CASE WHEN n % 20 = 0 THEN '000' || lpad((n % 100)::text, 2, '0') ELSE z.zip5 END,
            100000 + n % 400000, date '2025-01-01' + (n % 700), $1, n, n
     FROM generate_series(1, $2::int) n JOIN bench_zips z ON z.i = (n * 7) % $3`,
    [importId, N.mortgages, zips],
  );
  step("pieces");
  await q(
    `INSERT INTO mail_pieces (tracking_code, partner, mortgage_id, import_id, source_row, src_seq)
     SELECT lpad(n::text, 20, '0'), chr(65 + n % 4), 'M' || n, $1, n, n FROM generate_series(1, $2::int) n`,
    [importId, N.pieces],
  );
  // every piece was linked from its partner's barcode assignment; some assignments still wait (codes past any piece's)
  step("barcode assignments");
  await q(
    `INSERT INTO barcode_assignments (tracking_code, partner, mortgage_id, imb_raw, import_id, source_row, src_seq)
     SELECT tracking_code, partner, mortgage_id, tracking_code, import_id, source_row, src_seq FROM mail_pieces WHERE import_id = $1`,
    [importId],
  );
  await q(
    `INSERT INTO barcode_assignments (tracking_code, partner, mortgage_id, imb_raw, import_id, source_row, src_seq)
     SELECT lpad((2 * $2::bigint + n)::text, 20, '0'), chr(65 + n % 4), 'MP' || n, 'raw', $1, n, n FROM generate_series(1, $3::int) n`,
    [importId, N.pieces, N.pendingBarcodes],
  );
  step("production");
  await q(
    `INSERT INTO mail_piece_production (tracking_code, partner, mail_date, mailer_version, piece_type, campaign, import_id, source_row, src_seq)
     SELECT lpad(n::text, 20, '0'), chr(65 + n % 4), d, CASE WHEN n % 2 = 0 THEN 'A' ELSE 'B' END,
            (ARRAY['letter', 'postcard', 'self_mailer'])[1 + (n / 2) % 3], 'MP-' || to_char(d, 'YYYY-MM'), $1, n, n
     FROM generate_series(1, $2::int) n, LATERAL (SELECT date '2026-01-01' + ${mailDay("n")}::int AS d) x`,
    [importId, N.pieces],
  );
  step("deliveries");
  // deliveries: partner lead times A 3, B 5, C 7, D 2 days, plus 0-2
  await q(
    `INSERT INTO delivery_events (tracking_code, partner, event_at, event_code, status, import_id, source_row, src_seq)
     SELECT lpad(n::text, 20, '0'), chr(65 + n % 4),
            (date '2026-01-01' + ${mailDay("n")}::int + (ARRAY[3, 5, 7, 2])[1 + n % 4] + (n / 4) % 3)::timestamp + interval '15 hours',
            '918', 'applied', $1, n, n
     FROM generate_series(1, $2::int) n`,
    [importId, N.deliveries],
  );
  await q(
    `INSERT INTO mail_piece_deliveries (tracking_code, partner, delivered_at, event_code, event_id, import_id, source_row)
     SELECT tracking_code, partner, event_at, event_code, id, import_id, source_row FROM delivery_events
     WHERE import_id = $1`,
    [importId],
  );
  step("calls");
  // calls on pieces spread over the year; version B drawn more (one in three calls about an A piece is moved to the next piece)
  await q(
    `INSERT INTO call_responses (caller_phone, called_at, disposition, keyed_tracking, lookup_tracking_code, tracking_code, mortgage_id,
                                 partner, match_method, matched_at, import_id, source_row, src_seq)
     SELECT '+1' || (2122000000 + n)::text, (date '2026-01-01' + ${mailDay("k")}::int + 5 + n % 10) + (n % 36000) * interval '1 second',
            CASE WHEN n % 10 = 0 OR n % 50 = 1 THEN 'interested' WHEN n % 10 < 5 THEN 'callback' ELSE 'not_interested' END,
            lpad(k::text, 20, '0'), lpad(k::text, 20, '0'),
            CASE WHEN n % 50 = 0 THEN NULL ELSE lpad(k::text, 20, '0') END, CASE WHEN n % 50 = 0 THEN NULL ELSE 'M' || k END,
            CASE WHEN n % 50 = 0 THEN NULL ELSE chr(65 + (k % 4)::int) END, CASE WHEN n % 50 = 0 THEN NULL ELSE 'tracking_code' END, now(),
            '${importId}', n, n
     FROM (SELECT n, CASE WHEN k0 % 2 = 0 AND n % 3 = 0 AND k0 < ${N.pieces} THEN k0 + 1 ELSE k0 END AS k
           FROM (SELECT n, (n::bigint * 7919) % ${N.pieces} + 1 AS k0 FROM generate_series(1, ${N.calls}) n) a) b`,
  );
  await q(
    `INSERT INTO leads (caller_phone, tracking_code, mortgage_id, partner, interested_at, first_response_id)
     SELECT caller_phone, tracking_code, mortgage_id, partner, called_at, id FROM call_responses
     WHERE disposition = 'interested' AND tracking_code IS NOT NULL AND import_id = $1`,
    [importId],
  );
  await q(
    `INSERT INTO lead_handoffs (day, file_key, handed_off_at, leads, sha256)
     SELECT d, 'outbox/leads/' || d, d + interval '22 hours', 0, '-' FROM (SELECT DISTINCT interested_at::date + 1 AS d FROM leads) x
     ON CONFLICT (day) DO NOTHING`,
  );
  await q(
    `INSERT INTO lead_handoff_items (lead_id, day, file_key, handed_off_at, cells)
     SELECT id, interested_at::date + 1, 'outbox/leads/' || (interested_at::date + 1), (interested_at::date + 1) + interval '22 hours', '{}'
     FROM leads l WHERE id % 4 <> 0 AND EXISTS (SELECT FROM call_responses c WHERE c.id = l.first_response_id AND c.import_id = $1)`,
    [importId],
  );
  await q(
    `INSERT INTO imports (bucket, object_key, event_key, file_name, source, partner, status, rows_read, accepted, rejected, created_at, finished_at)
     SELECT 'b', 'k' || n, 'e' || n, 'f' || n, (ARRAY['partner-b-mortgages', 'partner-b-deliveries', 'call-center-responses'])[1 + n % 3],
            'B', CASE WHEN n % 50 = 0 THEN 'FAILED' ELSE 'COMPLETE_WITH_ERRORS' END, 50000, 49900, 100,
            timestamptz '2026-01-01' + n * interval '4 hours', timestamptz '2026-01-01' + n * interval '4 hours' + (n % 90) * interval '1 second'
     FROM generate_series(1, $1::int) n`,
    [N.imports],
  );
  await q(
    `INSERT INTO import_rejects (import_id, chunk_index, row_number, error_type, field_name, field_value, error_message)
     SELECT i.id, 0, n, 'validation', (ARRAY['imb', 'loan_amount', 'closing_date'])[1 + n % 3], 'x', 'bad value'
     FROM generate_series(1, $1::int) n, (SELECT array_agg(id ORDER BY seq) AS ids FROM imports) a,
          LATERAL (SELECT a.ids[1 + n % $2] AS id) i`,
    [N.rejects, N.imports],
  );
  step("analyze");
  await q("SET session_replication_role = origin");
  await q("ANALYZE");
}
