import type { PoolClient } from "../db";
import type { Target, TargetReject } from "../sources/spec";

/**
 * A target whose promotion is one PL/pgSQL function `fn(import_id, chunk_index)` returning
 * (inserted, updated), optionally after a rule function that refuses staged rows with a reason.
 */
export function promotedBy(
  kind: string,
  columns: readonly string[],
  key: readonly string[],
  fn: string,
  extra: Partial<Pick<Target, "complete">> & {
    /** A statement run first in the chunk's transaction (e.g. an advisory lock). */
    lock?: string;
    refuse?: (client: PoolClient, importId: string, chunkIndex: number) => Promise<TargetReject[]>;
  } = {},
): Target {
  const stagingTable = `staging_${kind}`;
  return {
    kind,
    stagingTable,
    columns,
    key,
    views: [],
    ...(extra.complete ? { complete: extra.complete } : {}),
    async promote(client, importId, chunkIndex) {
      if (extra.lock) await client.query(extra.lock);
      const rejects = extra.refuse ? await extra.refuse(client, importId, chunkIndex) : [];
      if (rejects.length > 0) {
        await client.query(
          `DELETE FROM ${stagingTable} WHERE import_id = $1 AND chunk_index = $2 AND source_row = ANY ($3::bigint[])`,
          [importId, chunkIndex, rejects.map((r) => r.sourceRow)],
        );
      }
      const { rows } = await client.query<{ inserted: number; updated: number }>(`SELECT * FROM ${fn}($1, $2)`, [
        importId,
        chunkIndex,
      ]);
      return { rejects, inserted: rows[0]!.inserted, updated: rows[0]!.updated };
    },
  };
}

export const customersTarget = promotedBy(
  "customers",
  ["customer_id", "email", "phone", "home_state", "loyalty_tier", "is_active", "updated_at"],
  ["customer_id", "updated_at"],
  "promote_customers",
);

export const bookingsTarget = promotedBy(
  "bookings",
  ["booking_id", "customer_id", "booking_date", "booking_amount", "booking_status", "product_name", "source_system"],
  ["booking_id"],
  "promote_bookings",
);

export const consentEventsTarget = promotedBy(
  "consent_events",
  ["customer_id", "channel", "consent_status", "event_ts"],
  ["customer_id", "channel", "event_ts", "consent_status"],
  "promote_consent_events",
);

export const suppressionsTarget = promotedBy(
  "suppressions",
  ["customer_id", "reason", "suppressed_at", "expires_at"],
  ["customer_id", "reason", "suppressed_at"],
  "promote_suppressions",
  {
    async refuse(client, importId, chunkIndex) {
      const { rows } = await client.query<{ source_row: number; expires_at: Date; suppressed_at: Date }>(
        "SELECT * FROM suppression_conflicts($1, $2)",
        [importId, chunkIndex],
      );
      return rows.map((r) => ({
        sourceRow: Number(r.source_row),
        field: "expires_at",
        value: r.expires_at.toISOString(),
        reason: `expires_at must be after suppressed_at (${r.suppressed_at.toISOString()})`,
      }));
    },
  },
);

/** Registry chunks and full-file completions take turns, so a full file and a change never miss each other. */
const DNC_LOCK = "SELECT pg_advisory_xact_lock(hashtext('dnc_numbers'))";

export const dncNumbersTarget = promotedBy("dnc_numbers", ["phone", "action"], ["phone"], "promote_dnc_numbers", {
  lock: DNC_LOCK,
  async complete(client, importId) {
    await client.query(DNC_LOCK);
    const { rows } = await client.query<{ delisted: number }>("SELECT complete_dnc_full_file($1) AS delisted", [
      importId,
    ]);
    return rows[0]!.delisted;
  },
});

export const optOutsTarget = promotedBy(
  "opt_outs",
  ["channel", "value", "opted_out_at", "reason"],
  ["channel", "value", "opted_out_at"],
  "promote_internal_opt_outs",
  {
    async refuse(client, importId, chunkIndex) {
      const { rows } = await client.query<{ source_row: number; channel: string; value: string }>(
        "SELECT * FROM opt_out_value_conflicts($1, $2)",
        [importId, chunkIndex],
      );
      return rows.map((r) => ({
        sourceRow: Number(r.source_row),
        field: "value",
        value: r.value,
        reason:
          r.channel === "email"
            ? "expected an e-mail address for channel email"
            : r.channel === "mail"
              ? "expected an e-mail address or a US phone number for channel mail"
              : `expected a US phone number with 10 digits for channel ${r.channel}`,
      }));
    },
  },
);
