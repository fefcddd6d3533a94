import {
  date,
  decimal,
  email,
  identifier,
  imb,
  money,
  oneOf,
  phone,
  rowSchema,
  text,
  usState,
  zip,
  type DateFormat,
  type NumberFormat,
  type RowSchema,
} from "./fields";
import type { Target, TargetReject } from "./spec";
import { promoteWith, refuseStaged, sqlRule } from "./target";

/**
 * A mortgage id reduced to its letters and digits, upper-cased: the key callers' keyed loan numbers
 * are matched by ("b 100004", "B-100004" and "B100004" are one key). Null when nothing is left or
 * more than 40 characters are. SQL's mortgage_match_key() is the same function (it backfilled the
 * stored keys); the two are held equal by a test.
 */
export function mortgageMatchKey(id: string): string | null {
  const key = id.replace(/[^A-Za-z0-9]/g, "").toUpperCase();
  return key.length > 0 && key.length <= 40 ? key : null;
}

/**
 * The row rules every partner's mortgage file shares: a spec maps its own headers onto these
 * field names and says how the partner writes dates and numbers and whether the IMb is embedded.
 * The output has the columns of mortgagesTarget.
 */
export function mortgageRow(opts: { dates: DateFormat; numbers?: NumberFormat; barcode?: boolean }): RowSchema {
  const numbers = opts.numbers ?? "us";
  return rowSchema(
    {
      loan_number: identifier({ required: true }),
      borrower_first: text({ required: true, max: 100 }),
      borrower_last: text({ required: true, max: 100 }),
      co_borrower_first: text({ max: 100 }),
      co_borrower_last: text({ max: 100 }),
      property_address: text({ required: true, max: 200 }),
      property_city: text({ required: true, max: 100 }),
      property_state: usState({ required: true }),
      property_zip: zip({ required: true }),
      mailing_address: text({ max: 200 }),
      mailing_city: text({ max: 100 }),
      mailing_state: usState(),
      mailing_zip: zip(),
      loan_amount: money({ required: true, min: 1, format: numbers }),
      lender: text({ max: 200 }),
      loan_type: oneOf(["CONV", "FHA", "VA", "USDA", "JUMBO"]),
      interest_rate: decimal({ min: 0, max: 25, format: numbers }),
      closing_date: date(opts.dates, { required: true }),
      first_payment_date: date(opts.dates),
      phone: phone(),
      email: email(),
      // Without an embedded barcode the field is never mapped, reads as blank and stays null.
      imb: imb({ required: opts.barcode ?? false }),
    },
    (r) => ({
      mortgage_id: r.loan_number,
      match_key: r.loan_number === null ? null : mortgageMatchKey(r.loan_number),
      borrower_first_name: r.borrower_first,
      borrower_last_name: r.borrower_last,
      co_borrower_first_name: r.co_borrower_first,
      co_borrower_last_name: r.co_borrower_last,
      property_address: r.property_address,
      property_city: r.property_city,
      property_state: r.property_state,
      property_zip5: r.property_zip?.zip5 ?? null,
      property_zip4: r.property_zip?.zip4 ?? null,
      mailing_address: r.mailing_address,
      mailing_city: r.mailing_city,
      mailing_state: r.mailing_state,
      mailing_zip5: r.mailing_zip?.zip5 ?? null,
      mailing_zip4: r.mailing_zip?.zip4 ?? null,
      loan_amount: r.loan_amount,
      lender_name: r.lender,
      loan_type: r.loan_type,
      interest_rate: r.interest_rate,
      closing_date: r.closing_date,
      first_payment_date: r.first_payment_date,
      phone: r.phone,
      email: r.email,
      imb_raw: r.imb?.raw ?? null,
      tracking_code: r.imb?.tracking ?? null,
      routing_code: r.imb?.routing || null,
      imb_repaired: r.imb ? r.imb.repaired === true : null,
    }),
  );
}

const mortgageOwnerRule = sqlRule(`SELECT source_row, 'mortgage_id' AS field, mortgage_id AS value,
          format('mortgage id belongs to partner %s; a partner''s file cannot change another partner''s mortgage', owner_partner) AS reason
     FROM mortgage_partner_conflicts($1, $2)`);
/** A barcode claimed by another partner's piece, or by another mortgage: refused before promotion. */
export const barcodeRule = sqlRule("SELECT source_row, field, value, reason FROM barcode_conflicts($1, $2)");
export const LOCK_MAIL_PIECES = "SELECT lock_mail_pieces($1)";
/** Map chunks exclusive, mortgage chunks shared: a claim and its mortgage's arrival are decided one at a time. */
export const LOCK_BARCODE_CLAIMS = "SELECT lock_barcode_claims($1)";

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
    const upsert = () => promoteWith(client, "promote_mortgages", importId, chunkIndex, staged.inKeyOrder);
    let rejects: TargetReject[];
    let counts: { inserted: number; updated: number };
    const barcodes = staged.filled.has("tracking_code");
    // The refusal point depends on the chunk, so this target calls the builder's parts itself.
    if (barcodes) {
      // Barcodes (partner A) are checked under the partner's mail-piece lock, and a row refused for
      // its barcode must not reach core: every rule first.
      await client.query(LOCK_MAIL_PIECES, [importId]);
      rejects = await refuseStaged(client, "staging_mortgages", importId, chunkIndex, [mortgageOwnerRule, barcodeRule]);
      counts = await upsert();
    } else {
      // The upsert never touches another partner's mortgage (its WHERE), so the owner rule can be
      // asked afterwards, and only when some key was neither inserted nor updated: on a file of new
      // or changed mortgages it cannot find anything, and asking costs a probe per row.
      counts = await upsert();
      rejects =
        Number(counts.inserted) + Number(counts.updated) < staged.distinctKeys
          ? await refuseStaged(client, "staging_mortgages", importId, chunkIndex, [mortgageOwnerRule])
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
