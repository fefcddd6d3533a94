import type { SourceSpec } from "./spec";
import { Imb } from "../imb/index";
import { keyed, phoneE164, rowSchema, timestamp, vocabulary } from "./fields";
import { promotionTarget } from "./target";
import { mortgageMatchKey } from "./mortgage-row";

/**
 * Call-center responses: call_responses (matched or not), opt-outs for do-not-call requests,
 * leads for interested callers (sql/functions/call_responses.sql).
 */
export const callResponsesTarget = promotionTarget({
  kind: "call_responses",
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
  promoteFn: "promote_call_responses",
});

export const DISPOSITIONS = {
  interested: ["yes", "int", "wants quote", "interested - quote"],
  callback: ["call back", "cb", "call me back", "call-back request"],
  not_interested: ["no", "ni", "not int"],
  do_not_call: ["dnc", "do not call", "do-not-call request", "do not call request", "remove me", "stop calling"],
} as const;

/** A tracking number as keyed on a phone keypad: the 20-digit tracking code if it is one, else null. */
function keyedTrackingCode(v: string): string | null {
  const r = Imb.tryParse(v);
  return r.ok && r.encoding === "numeric" ? r.tracking : null;
}

/**
 * The call center's daily export of IVR responses: the caller's phone, the call's start in US
 * Central time, the disposition, and the loan and tracking numbers as the caller keyed them
 * (either may be missing or mistyped: the response is kept and matched as well as it can be).
 */
export const callCenterResponses: SourceSpec = {
  name: "call-center-responses",
  partner: null,
  description:
    "Call-center (IVR) responses (CSV: caller phone, call time (Central), disposition, keyed loan and tracking numbers)",
  schemaVersion: 1,
  fileName: /^(call[-_ ]?center|ivr)[-_ ].*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8" },
  columns: {
    "Caller Phone": "phone",
    "Call Start": "call_start",
    Disposition: "disposition",
    "Loan Number Entered": "loan",
    "Tracking Number Entered": "tracking",
  },
  row: rowSchema(
    {
      phone: phoneE164({ required: true }),
      call_start: timestamp("MM/DD/YYYY hh:mm", { required: true, zone: "America/Chicago" }),
      disposition: vocabulary(DISPOSITIONS, { required: true }),
      loan: keyed(mortgageMatchKey),
      tracking: keyed(keyedTrackingCode),
    },
    (r) => ({
      caller_phone: r.phone,
      called_at: r.call_start,
      disposition: r.disposition,
      keyed_mortgage_id: r.loan?.raw ?? null,
      keyed_tracking: r.tracking?.raw ?? null,
      lookup_mortgage_id: r.loan?.value ?? null,
      lookup_tracking_code: r.tracking?.value ?? null,
    }),
  ),
  target: callResponsesTarget,
};
