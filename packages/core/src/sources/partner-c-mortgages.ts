import type { SourceSpec } from "./spec";
import { mortgageRow, mortgagesTarget } from "./mortgage-row";

/**
 * Partner C's daily mortgage closings: a European export — semicolon-separated, Windows-1252
 * (names like "José Muñoz"), dates DD.MM.YYYY, amounts 312.500,00 and rates 6,125. No barcode:
 * it arrives in partner C's barcode map.
 */
export const partnerCMortgages: SourceSpec = {
  name: "partner-c-mortgages",
  partner: "C",
  description: "Partner C mortgage closings (CSV; semicolons, Windows-1252, DD.MM.YYYY, 1.234,56)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?c[-_ ].*mortgage.*\.(csv|txt)$/i,
  reader: { format: "csv", delimiter: ";", encoding: "windows-1252" },
  columns: {
    LOAN_NO: "loan_number",
    NAME_FIRST: "borrower_first",
    NAME_LAST: "borrower_last",
    CO_FIRST: "co_borrower_first",
    CO_LAST: "co_borrower_last",
    ADDRESS: "property_address",
    CITY: "property_city",
    STATE: "property_state",
    ZIP: "property_zip",
    MAIL_ADDRESS: "mailing_address",
    MAIL_CITY: "mailing_city",
    MAIL_STATE: "mailing_state",
    MAIL_ZIP: "mailing_zip",
    AMOUNT: "loan_amount",
    LENDER: "lender",
    PRODUCT: "loan_type",
    RATE: "interest_rate",
    CLOSED: "closing_date",
    FIRST_DUE: "first_payment_date",
    PHONE: "phone",
    EMAIL: "email",
  },
  row: mortgageRow({ dates: "DD.MM.YYYY", numbers: "eu" }),
  target: mortgagesTarget,
};
