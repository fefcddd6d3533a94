import type { SourceSpec } from "./spec";
import { mortgageRow, mortgagesTarget } from "./mortgage-row";

/**
 * Partner A's daily mortgage closings: an Excel workbook (first sheet), the Intelligent Mail
 * barcode embedded as its 65-character bar string. Dates are real Excel dates (read as
 * YYYY-MM-DD), amounts and rates plain numbers. Every row carries its mail piece.
 */
export const partnerAMortgages: SourceSpec = {
  name: "partner-a-mortgages",
  partner: "A",
  description: "Partner A mortgage closings with the IMb embedded (XLSX)",
  schemaVersion: 1,
  fileName: /^partner[-_ ]?a[-_ ].*mortgage.*\.xlsx$/i,
  reader: { format: "xlsx" },
  columns: {
    "Loan ID": "loan_number",
    "Borrower First Name": "borrower_first",
    "Borrower Last Name": "borrower_last",
    "Co-Borrower First Name": "co_borrower_first",
    "Co-Borrower Last Name": "co_borrower_last",
    Street: "property_address",
    City: "property_city",
    State: "property_state",
    ZIP: "property_zip",
    "Loan Amount": "loan_amount",
    Lender: "lender",
    "Loan Type": "loan_type",
    Rate: "interest_rate",
    "Closing Date": "closing_date",
    "First Payment": "first_payment_date",
    Phone: "phone",
    Email: "email",
    IMb: "imb",
  },
  row: mortgageRow({ dates: "YYYY-MM-DD", barcode: true }),
  target: mortgagesTarget,
};
