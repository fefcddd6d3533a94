import type { SourceSpec } from "./spec";
import { mortgageRow, mortgagesTarget } from "./mortgage-row";

/**
 * Partner B's daily mortgage closings: comma-separated, UTF-8 (BOM tolerated), one header
 * row, US dates, amounts with $ and thousands separators. No barcode: it arrives later in
 * the barcode-map file.
 */
export const partnerBMortgages: SourceSpec = {
  name: "partner-b-mortgages",
  partner: "B",
  description: "Partner B mortgage closings (CSV)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?b[-_ ].*mortgage.*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: {
    "Loan Number": "loan_number",
    "Borrower First": "borrower_first",
    "Borrower Last": "borrower_last",
    "Co-Borrower First": "co_borrower_first",
    "Co-Borrower Last": "co_borrower_last",
    "Property Address": "property_address",
    "Property City": "property_city",
    "Property State": "property_state",
    "Property Zip": "property_zip",
    "Mailing Address": "mailing_address",
    "Mailing City": "mailing_city",
    "Mailing State": "mailing_state",
    "Mailing Zip": "mailing_zip",
    "Loan Amount": "loan_amount",
    Lender: "lender",
    "Loan Type": "loan_type",
    "Interest Rate": "interest_rate",
    "Closing Date": "closing_date",
    "First Payment Date": "first_payment_date",
    "Borrower Phone": "phone",
    "Borrower Email": "email",
  },
  row: mortgageRow({ dates: "MM/DD/YYYY" }),
  target: mortgagesTarget,
};
