import type { SourceSpec } from "./spec";
import { coerce, e164, flag, keyed, oneOf, rowSchema, text } from "./fields";
import { promotionTarget } from "./target";
import { RowIssue } from "./fields";

/** The file's columns, in order: what `leadpipe sync ringcentral` writes (integrations/ringcentral/records.ts). */
export const RINGCENTRAL_CALL_COLUMNS = {
  "Record Id": "record_id",
  "Session Id": "session_id",
  "Start Time": "start_time",
  "Last Modified": "last_modified",
  Direction: "direction",
  From: "from",
  To: "to",
  Result: "result",
  "Duration Seconds": "duration",
  Deleted: "deleted",
} as const;

const seconds = keyed((v) => (/^\d{1,7}$/.test(v) ? Number(v) : null));

/** An ISO 8601 instant with its offset, milliseconds kept (two updates within one second stay apart). */
const instant = (opts: { required?: boolean } = {}) =>
  coerce(
    "an ISO 8601 date-time with its offset, like 2026-11-20T08:30:00.123Z",
    (v) => {
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/i.test(v)) return undefined;
      const t = Date.parse(v);
      return Number.isNaN(t) ? undefined : new Date(t).toISOString();
    },
    opts.required ?? false,
  );

/**
 * RingCentral's account call log, as the sync reads it (one row per call-log record version):
 * landed like any partner file, each record kept once by its RingCentral id
 * (sql/functions/ringcentral_calls.sql): inbound calls become call-center responses, outbound ones
 * call touchpoints. Phones are E.164 when they are US numbers, else kept as RingCentral gave them.
 */
/**
 * RingCentral call-log records, one per RingCentral id: inbound calls as call-center responses,
 * outbound ones as call touchpoints (sql/functions/ringcentral_calls.sql).
 */
export const ringcentralCallsTarget = promotionTarget({
  kind: "ringcentral_calls",
  columns: [
    "record_id",
    "session_id",
    "start_time",
    "last_modified",
    "direction",
    "from_phone",
    "to_phone",
    "result",
    "duration_s",
    "deleted",
  ],
  key: ["record_id", "last_modified"],
  promoteFn: "promote_ringcentral_calls",
});

export const ringcentralCalls: SourceSpec = {
  name: "ringcentral-calls",
  partner: null,
  description:
    "RingCentral call-log records (CSV written by `leadpipe sync ringcentral`: id, times, direction, phones)",
  schemaVersion: 1,
  fileName: /^ringcentral[-_]calls[-_].*\.csv$/i,
  reader: { format: "csv", delimiter: ",", encoding: "utf-8", strict: true },
  columns: RINGCENTRAL_CALL_COLUMNS,
  row: rowSchema(
    {
      record_id: text({ required: true, max: 64 }),
      session_id: text({ max: 64 }),
      start_time: instant({ required: true }),
      last_modified: instant({ required: true }),
      direction: oneOf(["INBOUND", "OUTBOUND"] as const, { required: true }),
      from: keyed(e164),
      to: keyed(e164),
      result: text({ max: 100 }),
      duration: seconds,
      deleted: flag({ required: true }),
    },
    (r) => {
      if (r.duration && r.duration.value === null) return new RowIssue("duration", "whole seconds");
      return {
        record_id: r.record_id,
        session_id: r.session_id,
        start_time: r.start_time,
        last_modified: r.last_modified,
        direction: r.direction === "INBOUND" ? "Inbound" : "Outbound",
        from_phone: r.from ? (r.from.value ?? r.from.raw) : null,
        to_phone: r.to ? (r.to.value ?? r.to.raw) : null,
        result: r.result,
        duration_s: r.duration?.value ?? null,
        deleted: r.deleted,
      };
    },
  ),
  target: ringcentralCallsTarget,
};
