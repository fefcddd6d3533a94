import type { Target } from "./sources/spec";

/** Core mortgage records: promoted by promote_mortgages(), partner isolation by mortgage_partner_conflicts(). */
export const mortgagesTarget: Target = {
  kind: "mortgages",
  stagingTable: "staging_mortgages",
  columns: [
    "mortgage_id", "borrower_first_name", "borrower_last_name", "co_borrower_first_name", "co_borrower_last_name",
    "property_address", "property_city", "property_state", "property_zip5", "property_zip4",
    "mailing_address", "mailing_city", "mailing_state", "mailing_zip5", "mailing_zip4",
    "loan_amount", "lender_name", "loan_type", "interest_rate", "closing_date", "first_payment_date",
    "phone", "email", "imb_raw", "tracking_code",
  ],
  key: ["mortgage_id"],
  views: ["report_mortgages_by_partner_day"],
  async promote(client, importId, chunkIndex) {
    const conflicts = await client.query<{ source_row: number; mortgage_id: string; owner_partner: string }>(
      "SELECT source_row, mortgage_id, owner_partner FROM mortgage_partner_conflicts($1, $2)", [importId, chunkIndex]);
    if (conflicts.rows.length > 0) {
      await client.query(
        `DELETE FROM staging_mortgages s USING mortgage_partner_conflicts($1, $2) c
          WHERE s.import_id = $1 AND s.chunk_index = $2 AND s.source_row = c.source_row`, [importId, chunkIndex]);
    }
    const { rows } = await client.query<{ inserted: number; updated: number }>("SELECT * FROM promote_mortgages($1, $2)", [importId, chunkIndex]);
    return {
      rejects: conflicts.rows.map((c) => ({
        sourceRow: Number(c.source_row),
        field: "mortgage_id",
        value: c.mortgage_id,
        reason: `mortgage id belongs to partner ${c.owner_partner}; a partner's file cannot change another partner's mortgage`,
      })),
      inserted: rows[0]!.inserted,
      updated: rows[0]!.updated,
    };
  },
};
