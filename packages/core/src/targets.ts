import type { Target, TargetReject } from "./sources/spec";
import type { PoolClient } from "./db";

interface Conflict {
  source_row: number;
  field: string;
  value: string | null;
  reason: string;
}

/**
 * Runs the rule queries over this chunk's staged rows, removes the rows they refuse from staging
 * (so promotion never sees them) and returns them as rejects.
 */
async function refuse(
  client: PoolClient,
  stagingTable: string,
  importId: string,
  chunkIndex: number,
  ruleQueries: readonly string[],
): Promise<TargetReject[]> {
  const conflicts: Conflict[] = [];
  for (const q of ruleQueries) conflicts.push(...(await client.query<Conflict>(q, [importId, chunkIndex])).rows);
  if (conflicts.length > 0) {
    await client.query(
      `DELETE FROM ${stagingTable} WHERE import_id = $1 AND chunk_index = $2 AND source_row = ANY($3::bigint[])`,
      [importId, chunkIndex, [...new Set(conflicts.map((c) => Number(c.source_row)))]],
    );
  }
  return conflicts.map((c) => ({ sourceRow: Number(c.source_row), field: c.field, value: c.value, reason: c.reason }));
}

const MORTGAGE_OWNER_RULE = `SELECT source_row, 'mortgage_id' AS field, mortgage_id AS value,
          format('mortgage id belongs to partner %s; a partner''s file cannot change another partner''s mortgage', owner_partner) AS reason
     FROM mortgage_partner_conflicts($1, $2)`;
const BARCODE_RULE = "SELECT source_row, field, value, reason FROM barcode_conflicts($1, $2)";
const LOCK_MAIL_PIECES = "SELECT lock_mail_pieces($1)";
/** Map chunks exclusive, mortgage chunks shared: a claim and its mortgage's arrival are decided one at a time. */
const LOCK_BARCODE_CLAIMS = "SELECT lock_barcode_claims($1)";

/** Core mortgage records: promoted by promote_mortgages(), partner isolation by mortgage_partner_conflicts(). */
export const mortgagesTarget: Target = {
  kind: "mortgages",
  stagingTable: "staging_mortgages",
  columns: [
    "mortgage_id",
    "match_key",
    "borrower_first_name",
    "borrower_last_name",
    "co_borrower_first_name",
    "co_borrower_last_name",
    "property_address",
    "property_city",
    "property_state",
    "property_zip5",
    "property_zip4",
    "mailing_address",
    "mailing_city",
    "mailing_state",
    "mailing_zip5",
    "mailing_zip4",
    "loan_amount",
    "lender_name",
    "loan_type",
    "interest_rate",
    "closing_date",
    "first_payment_date",
    "phone",
    "email",
    "imb_raw",
    "tracking_code",
    "routing_code",
    "imb_repaired",
  ],
  key: ["mortgage_id"],
  insertsByKey: true,
  views: [],
  async promote(client, importId, chunkIndex, staged) {
    await client.query(LOCK_BARCODE_CLAIMS, [false]);
    const upsert = async () =>
      (
        await client.query<{ inserted: number; updated: number }>("SELECT * FROM promote_mortgages($1, $2, $3)", [
          importId,
          chunkIndex,
          staged.inKeyOrder,
        ])
      ).rows[0]!;
    let rejects: TargetReject[];
    let counts: { inserted: number; updated: number };
    const barcodes = staged.filled.has("tracking_code");
    if (barcodes) {
      // Barcodes (partner A) are checked under the partner's mail-piece lock, and a row refused for
      // its barcode must not reach core: every rule first.
      await client.query(LOCK_MAIL_PIECES, [importId]);
      rejects = await refuse(client, "staging_mortgages", importId, chunkIndex, [MORTGAGE_OWNER_RULE, BARCODE_RULE]);
      counts = await upsert();
    } else {
      // The upsert never touches another partner's mortgage (its WHERE), so the owner rule can be
      // asked afterwards, and only when some key was neither inserted nor updated: on a file of new
      // or changed mortgages it cannot find anything, and asking costs a probe per row.
      counts = await upsert();
      rejects =
        Number(counts.inserted) + Number(counts.updated) < staged.distinctKeys
          ? await refuse(client, "staging_mortgages", importId, chunkIndex, [MORTGAGE_OWNER_RULE])
          : [];
    }
    // Another partner's barcode map that claimed one of these mortgages first loses its claim now
    // (refused rows are out of staging by here: they own nothing).
    await client.query("SELECT reject_foreign_claims($1, $2)", [importId, chunkIndex]);
    if (!barcodes) await client.query(LOCK_MAIL_PIECES, [importId]);
    await client.query("SELECT * FROM promote_barcodes($1, $2)", [importId, chunkIndex]);
    return { rejects, inserted: counts.inserted, updated: counts.updated };
  },
};

/**
 * Barcode maps (partners B, C, D): mortgage id → IMb. Assignments land whether or not the mortgage
 * has arrived; mail pieces are linked by link_mail_pieces() from either side. Counts are of
 * assignments (one per tracking code).
 */
export const barcodeMapTarget: Target = {
  kind: "barcode-map",
  stagingTable: "staging_barcode_map",
  columns: ["mortgage_id", "imb_raw", "imb_encoding", "imb_repaired", "tracking_code", "routing_code"],
  views: [],
  async promote(client, importId, chunkIndex) {
    await client.query(LOCK_BARCODE_CLAIMS, [true]);
    await client.query(LOCK_MAIL_PIECES, [importId]);
    const rejects = await refuse(client, "staging_barcode_map", importId, chunkIndex, [BARCODE_RULE]);
    const { rows } = await client.query<{ inserted: number; updated: number }>(
      "SELECT * FROM promote_barcodes($1, $2)",
      [importId, chunkIndex],
    );
    return { rejects, inserted: rows[0]!.inserted, updated: rows[0]!.updated };
  },
};
