import type { Queryable } from "../db";
import { channelOf } from "../compliance/channels";
import { headerKey } from "../people/headers";

/**
 * Where a legacy table lands besides person records: each target is an existing source spec (the
 * same staging, rules and reports as a file of that source), the fields its landed CSV carries,
 * how column names suggest those fields, and how the landed rows are found again for the proof.
 * The legacy row's lineage (source/table/primary key) and unmapped columns are kept in
 * `migration_rows`; the canonical row keeps its import and source row, which lead there.
 */
export interface FlatTarget {
  name: "opt-outs" | "do-not-call";
  /** The source spec the landed objects are imports of (inbox/<source>/…). */
  source: string;
  fields: readonly string[];
  /** The landed CSV has a header line (its import's row N is the range's pks[N - 1 - header]). */
  header: boolean;
  /** Table names that suggest this target (compared as header keys: lower case, no punctuation). */
  tableName: RegExp;
  /** The field a column name suggests. */
  guess(columnKey: string): string | undefined;
  /** The landed cells of a row, from its mapped fields (a value kept as written unless its normal form is certain). */
  cells(fields: Record<string, string | null>, channel: string | undefined): string[];
  /** Which rows (by pk) are in the canonical table, with the field values read back from it. */
  landed(db: Queryable, rows: LandedProbe[]): Promise<Map<string, Record<string, string | null>>>;
}

export interface LandedProbe {
  pk: string;
  fields: Record<string, string | null>;
  channel: string | undefined;
}

const EMAIL_KEYS = new Set(["email", "emailaddress", "mail", "eaddress"]);
const PHONE_KEYS = new Set(["phone", "phonenumber", "telephone", "tel", "mobile", "cell", "number", "msisdn"]);

/** A US number written with punctuation or a leading 1 is the same ten digits: certain, so normalized. */
function tenDigits(v: string): string {
  const digits = v.replace(/[\s().+-]/g, "");
  if (!/^\d+$/.test(digits)) return v;
  const ten = digits.length === 11 && digits.startsWith("1") ? digits.slice(1) : digits;
  return ten.length === 10 ? ten : v;
}

/** The channel of an opt-out row: its channel column, the table's declared channel, or what its value column names. */
export function optOutChannel(fields: Record<string, string | null>, channel: string | undefined): string {
  return fields.channel ?? channel ?? "";
}

const optOuts: FlatTarget = {
  name: "opt-outs",
  source: "internal-opt-outs",
  fields: ["channel", "value", "opted_out_at", "reason"],
  header: true,
  tableName: /opt(ed)?outs?|unsubscri|suppress/,
  guess(k) {
    if (k === "channel" || k === "medium") return "channel";
    if (k === "value" || k === "contact" || EMAIL_KEYS.has(k) || PHONE_KEYS.has(k)) return "value";
    if (
      /^(opt(ed)?outat|opt(ed)?outdate|opt(ed)?outon|unsubscribed(at|on)?|created(at|on)?|date|datetime|timestamp)$/.test(
        k,
      )
    )
      return "opted_out_at";
    if (k === "reason" || k === "note" || k === "notes" || k === "comment") return "reason";
    return undefined;
  },
  cells(f, channel) {
    return [optOutChannel(f, channel), f.value ?? "", f.opted_out_at ?? "", f.reason ?? ""];
  },
  async landed(db, rows) {
    const { rows: found } = await db.query<{ pk: string; reason: string | null }>(
      `SELECT q.pk, o.reason
         FROM jsonb_to_recordset($1::jsonb) AS q(pk text, channel text, value text, at text)
         JOIN opt_outs o ON o.origin = 'internal' AND o.channel = q.channel
                        AND o.value = opt_out_value(q.channel, q.value)
                        AND o.opted_out_at = (CASE WHEN q.at ~ '^\\d{4}-\\d{2}-\\d{2}$' THEN q.at || ' 00:00:00+00' ELSE q.at END)::timestamptz`,
      [
        JSON.stringify(
          rows.map((r) => ({
            pk: r.pk,
            channel: channelOf(optOutChannel(r.fields, r.channel).toUpperCase()),
            value: r.fields.value,
            at: r.fields.opted_out_at,
          })),
        ),
      ],
    );
    const byPk = new Map(rows.map((r) => [r.pk, r]));
    // The key fields matched (after the rule's own normal form): they read back as the source wrote them.
    return new Map(found.map((f) => [f.pk, { ...byPk.get(f.pk)!.fields, reason: f.reason }]));
  },
};

const doNotCall: FlatTarget = {
  name: "do-not-call",
  source: "dnc-additions",
  fields: ["number"],
  header: false,
  tableName: /^(dnc|donotcall)/,
  guess: (k) => (PHONE_KEYS.has(k) || k === "dncnumber" ? "number" : undefined),
  cells: (f) => [f.number ? tenDigits(f.number) : ""],
  async landed(db, rows) {
    const probes = rows.map((r) => ({ pk: r.pk, phone: r.fields.number ? tenDigits(r.fields.number) : null }));
    const { rows: found } = await db.query<{ pk: string }>(
      `SELECT q.pk FROM jsonb_to_recordset($1::jsonb) AS q(pk text, phone text)
         JOIN dnc_numbers d ON q.phone ~ '^\\d{10}$' AND d.phone = q.phone::bigint AND d.listed`,
      [JSON.stringify(probes)],
    );
    const byPk = new Map(rows.map((r) => [r.pk, r]));
    return new Map(found.map((f) => [f.pk, byPk.get(f.pk)!.fields]));
  },
};

export const FLAT_TARGETS: readonly FlatTarget[] = [optOuts, doNotCall];
export const flatTarget = (name: string) => FLAT_TARGETS.find((t) => t.name === name);

/** The target a table's name suggests (opt-outs, do-not-call), if any. */
export const targetByTableName = (table: string) => FLAT_TARGETS.find((t) => t.tableName.test(headerKey(table)));

/** The channel an opt-out table without a channel column implies from its value column's name. */
export function impliedChannel(valueColumn: string): string | undefined {
  const k = headerKey(valueColumn);
  if (EMAIL_KEYS.has(k)) return "email";
  if (PHONE_KEYS.has(k)) return "call";
  return undefined;
}
