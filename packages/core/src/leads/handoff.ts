import { createHash } from "node:crypto";
import { withTransaction } from "../db";
import type { Needs } from "../ports";
import { csvDocument, type CsvValue } from "../csv/write";
import { deliverToAll, type DeliveryResult } from "../pullers/deliver";
import type { PullerSpec } from "../pullers/spec";
import type { Transport } from "../pullers/transport";

export interface HandoffResult {
  day: string;
  bucket: string;
  key: string;
  /** Leads in the day's file. */
  leads: number;
  /** False when the day had been handed off already: the same file was written again. */
  created: boolean;
  handedOffAt: string;
  sha256: string;
  /** Leads not handed off because the caller has since opted out of calls (they stay leads, never sent). */
  optedOut: number;
}

/**
 * The columns of the file the insurance agency receives. The phone is written (512) 555-0142:
 * its E.164 form starts with "+", which the CSV writer must neutralize as a possible formula.
 */
export const HANDOFF_COLUMNS = [
  "lead_id",
  "first_name",
  "last_name",
  "phone",
  "email",
  "property_address",
  "property_city",
  "property_state",
  "property_zip",
  "mortgage_id",
  "loan_amount",
  "lender",
  "mail_partner",
  "tracking_code",
  "interested_at",
] as const;

const HANDOFF_LOCK = 7241865325823003n;

const HANDOFF_PREFIX = "outbox/leads/";
export const handoffKey = (day: string) => `${HANDOFF_PREFIX}${day}/leads-${day}.csv`;

/**
 * Writes the day's hand-off file of leads for the insurance agency to outbox/leads/<day>/ and
 * records one audit row per lead. A lead is handed off once, ever: the first run for a day takes
 * every lead created up to the end of that day (UTC) that no earlier file carried and whose
 * caller has not opted out of calls, and records the exact cells written; a re-run of the day
 * writes the same bytes again and records nothing new (new leads wait for the next day's file).
 */
export async function handoff(deps: Needs<"pool" | "store", "bucket">, day: string): Promise<HandoffResult> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(Date.parse(`${day}T00:00:00Z`)))
    throw new Error(`hand-off day must be YYYY-MM-DD, got ${JSON.stringify(day)}`);
  const key = handoffKey(day);
  const recorded = await withTransaction(deps.pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [HANDOFF_LOCK.toString()]);
    let created = false;
    let optedOut = 0;
    const existing = await client.query<{ handed_off_at: Date }>(
      "SELECT handed_off_at FROM lead_handoffs WHERE day = $1",
      [day],
    );
    if (!existing.rows[0]) {
      created = true;
      const due = await client.query<{ id: number; opted_out: boolean; cells: CsvValue[] }>(
        `SELECT l.id,
                EXISTS (SELECT 1 FROM opt_outs o WHERE o.channel = 'call' AND o.value = l.caller_phone) AS opted_out,
                jsonb_build_array(l.id::text, m.borrower_first_name, m.borrower_last_name,
                  format('(%s) %s-%s', substr(l.caller_phone, 3, 3), substr(l.caller_phone, 6, 3), substr(l.caller_phone, 9, 4)), m.email,
                  m.property_address, m.property_city, m.property_state, concat_ws('-', m.property_zip5, m.property_zip4),
                  l.mortgage_id, m.loan_amount::text, m.lender_name, l.partner, l.tracking_code,
                  to_char(l.interested_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) AS cells
           FROM leads l LEFT JOIN mortgages m ON m.mortgage_id = l.mortgage_id
          WHERE l.created_at < (($1::date + 1)::timestamp AT TIME ZONE 'UTC')
            AND NOT EXISTS (SELECT 1 FROM lead_handoff_items h WHERE h.lead_id = l.id)
          ORDER BY l.id`,
        [day],
      );
      const sent = due.rows.filter((r) => !r.opted_out);
      optedOut = due.rows.length - sent.length;
      const content = csvDocument(
        HANDOFF_COLUMNS,
        sent.map((r) => r.cells),
      );
      await client.query(
        "INSERT INTO lead_handoffs (day, file_key, handed_off_at, leads, sha256) VALUES ($1, $2, now(), $3, $4)",
        [day, key, sent.length, sha256(content)],
      );
      await client.query(
        `INSERT INTO lead_handoff_items (lead_id, day, file_key, handed_off_at, cells)
         SELECT x.id, h.day, h.file_key, h.handed_off_at, x.cells
           FROM jsonb_to_recordset($2::jsonb) AS x(id bigint, cells jsonb) JOIN lead_handoffs h ON h.day = $1`,
        [day, JSON.stringify(sent.map((r) => ({ id: r.id, cells: r.cells })))],
      );
    }
    const h = await client.query<{ handed_off_at: Date; sha256: string }>(
      "SELECT handed_off_at, sha256 FROM lead_handoffs WHERE day = $1",
      [day],
    );
    const items = await client.query<{ cells: CsvValue[] }>(
      "SELECT cells FROM lead_handoff_items WHERE day = $1 ORDER BY lead_id",
      [day],
    );
    return {
      created,
      optedOut,
      handedOffAt: h.rows[0]!.handed_off_at,
      sha: h.rows[0]!.sha256,
      rows: items.rows.map((r) => r.cells),
    };
  });
  const content = csvDocument(HANDOFF_COLUMNS, recorded.rows);
  if (sha256(content) !== recorded.sha)
    throw new Error(
      `hand-off ${day}: the recorded lead rows no longer produce the file recorded (sha256 ${recorded.sha})`,
    );
  // After the commit: a failed write is retried by running the day again, which writes the same bytes.
  await deps.store.write(deps.settings.bucket, key, content, "text/csv; charset=utf-8");
  return {
    day,
    bucket: deps.settings.bucket,
    key,
    leads: recorded.rows.length,
    created: recorded.created,
    handedOffAt: recorded.handedOffAt.toISOString(),
    sha256: recorded.sha,
    optedOut: recorded.optedOut,
  };
}

/** Where the hand-off goes: the outbound destinations (`direction: "push"`) and how to reach them. */
export interface HandoffDelivery {
  destinations: readonly PullerSpec[];
  open(spec: PullerSpec): Promise<Transport>;
  retryMinMs?: number;
}

export interface DeliveredHandoff extends HandoffResult {
  /** One per destination and file sent or tried (earlier days' unsent files included). */
  deliveries: DeliveryResult[];
}

/**
 * The daily hand-off: writes the day's file (as `handoff`), then delivers it to every outbound
 * destination, each exactly once (the delivery ledger), with any earlier day's file a destination
 * has not received yet. A failed delivery is alerted and sent again by the next run.
 */
export async function handoffAndDeliver(
  deps: Needs<"pool" | "store" | "notifier" | "log", "bucket">,
  day: string,
  delivery: HandoffDelivery,
): Promise<DeliveredHandoff> {
  const result = await handoff(deps, day);
  const { pool, store, notifier, log } = deps;
  const deliveries = await deliverToAll(
    delivery.destinations,
    delivery.open,
    { pool, store, settings: deps.settings, notifier, log, retryMinMs: delivery.retryMinMs },
    result.key,
    HANDOFF_PREFIX,
  );
  return { ...result, deliveries };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
