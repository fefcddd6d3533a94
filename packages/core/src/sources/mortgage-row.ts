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
