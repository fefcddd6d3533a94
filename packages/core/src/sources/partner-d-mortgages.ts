import type { SourceSpec } from "./spec";
import { mortgageRow, mortgagesTarget } from "./mortgage-row";

/**
 * Partner D's daily mortgage closings: a mainframe extract — pipe-separated, every field in
 * single quotes (a quote inside doubled: 'O''BRIEN'), UTF-8 with a BOM, ISO dates, values in
 * UPPER CASE, its own column names. No barcode: it arrives in partner D's barcode map.
 */
export const partnerDMortgages: SourceSpec = {
  name: "partner-d-mortgages",
  partner: "D",
  description: "Partner D mortgage closings (pipe-separated, single-quoted, ISO dates)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?d[-_ ].*mortgage.*\.(txt|dat|psv|csv)$/i,
  reader: { format: "csv", delimiter: "|", quote: "'", encoding: "utf-8" },
  columns: {
    MORTGAGE_ID: "loan_number",
    BORR_FIRST_NM: "borrower_first",
    BORR_LAST_NM: "borrower_last",
    COBORR_FIRST_NM: "co_borrower_first",
    COBORR_LAST_NM: "co_borrower_last",
    PROP_ADDR: "property_address",
    PROP_CITY: "property_city",
    PROP_ST: "property_state",
    PROP_ZIP: "property_zip",
    MAIL_ADDR: "mailing_address",
    MAIL_CITY: "mailing_city",
    MAIL_ST: "mailing_state",
    MAIL_ZIP: "mailing_zip",
    LOAN_AMT: "loan_amount",
    LENDER_NM: "lender",
    LOAN_TYP: "loan_type",
    INT_RATE: "interest_rate",
    CLOSE_DT: "closing_date",
    FIRST_PMT_DT: "first_payment_date",
    PHONE_NBR: "phone",
    EMAIL_ADDR: "email",
  },
  row: mortgageRow({ dates: "YYYY-MM-DD" }),
  target: mortgagesTarget,
};
