import type { Target } from "../sources/spec";

/**
 * A target whose rules live entirely in PostgreSQL: `promote` (returns inserted, updated) records
 * and resolves the staged chunk; `rejects` (optional; returns source_row, field, value, reason)
 * lists the chunk's rows its rules refused, asked after promotion.
 */
function sqlTarget(t: Omit<Target, "promote"> & { promoteFn: string; rejectsFn?: string }): Target {
  const { promoteFn, rejectsFn, ...rest } = t;
  return {
    ...rest,
    async promote(client, importId, chunkIndex) {
      const { rows } = await client.query<{ inserted: number; updated: number }>(`SELECT * FROM ${promoteFn}($1, $2)`, [
        importId,
        chunkIndex,
      ]);
      const refused = rejectsFn
        ? (
            await client.query<{ source_row: number; field: string; value: string | null; reason: string }>(
              `SELECT source_row, field, value, reason FROM ${rejectsFn}($1, $2)`,
              [importId, chunkIndex],
            )
          ).rows
        : [];
      return {
        rejects: refused.map((r) => ({
          sourceRow: Number(r.source_row),
          field: r.field,
          value: r.value,
          reason: r.reason,
        })),
        inserted: rows[0]!.inserted,
        updated: rows[0]!.updated,
      };
    },
  };
}

/**
 * Delivery confirmations of every partner: the ledger delivery_events and each piece's first
 * delivery in mail_piece_deliveries (sql/functions/deliveries.sql). An event for another
 * partner's piece is a rejected row.
 */
export const deliveriesTarget: Target = sqlTarget({
  kind: "deliveries",
  stagingTable: "staging_deliveries",
  columns: ["tracking_code", "routing_code", "imb_raw", "event_at", "event_code"],
  key: ["tracking_code", "event_at", "event_code"],
  views: [],
  promoteFn: "promote_deliveries",
  rejectsFn: "delivery_rejects",
});

/**
 * Call-center responses: call_responses (matched or not), opt-outs for do-not-call requests,
 * leads for interested callers (sql/functions/call_responses.sql).
 */
export const callResponsesTarget: Target = sqlTarget({
  kind: "call_responses",
  stagingTable: "staging_call_responses",
  columns: [
    "caller_phone",
    "called_at",
    "disposition",
    "keyed_mortgage_id",
    "keyed_tracking",
    "lookup_mortgage_id",
    "lookup_tracking_code",
  ],
  key: ["caller_phone", "called_at", "disposition", "keyed_mortgage_id", "keyed_tracking"],
  views: [],
  promoteFn: "promote_call_responses",
});

/**
 * RingCentral call-log records, one per RingCentral id: inbound calls as call-center responses,
 * outbound ones as call touchpoints (sql/functions/ringcentral_calls.sql).
 */
export const ringcentralCallsTarget: Target = sqlTarget({
  kind: "ringcentral_calls",
  stagingTable: "staging_ringcentral_calls",
  columns: [
    "record_id",
    "session_id",
    "start_time",
    "last_modified",
    "direction",
    "from_phone",
    "to_phone",
    "result",
    "duration_s",
    "deleted",
  ],
  key: ["record_id", "last_modified"],
  views: [],
  promoteFn: "promote_ringcentral_calls",
});
