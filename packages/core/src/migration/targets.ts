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
  name: "opt-outs" | "do-not-call" | "campaigns" | "touchpoints";
  /** The source spec the landed objects are imports of (inbox/<source>/…). */
  source: string;
  fields: readonly string[];
  /** The landed CSV has a header line (its import's row N is the range's pks[N - 1 - header]). */
  header: boolean;
  /** The header line's names when they are not `fields` (e.g. the row's lineage first). */
  csvHeader?: readonly string[];
  /** Fields that name a row of another legacy table (landed as that row's lineage), and the target that table must have. */
  references?: Readonly<Record<string, "campaigns" | "contacts">>;
  /** The fields a table needs a column for (besides the channel, which a mapping may declare). */
  required: readonly string[];
  /** Table names that suggest this target (compared as header keys: lower case, no punctuation). */
  tableName: RegExp;
  /** The field a column name suggests. */
  guess(columnKey: string): string | undefined;
  /**
   * The landed cells of a row, from its mapped fields (a value kept as written unless its normal form is
   * certain; a reference as the lineage of the row it names) and its own lineage.
   */
  cells(fields: Record<string, string | null>, channel: string | undefined, lineage: string): string[];
  /** Which rows (by pk) are in the canonical table, with the field values read back from it. */
  landed(db: Queryable, rows: LandedProbe[]): Promise<Map<string, Record<string, string | null>>>;
}

export interface LandedProbe {
  pk: string;
  /** The row's own lineage (<kind>:<db>/<table>/<pk>). */
  lineage: string;
  /** The mapped fields as the source holds them. */
  fields: Record<string, string | null>;
  /** The same with references resolved to the lineage of the rows they name (as landed). */
  resolved: Record<string, string | null>;
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
  required: ["value"],
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
  required: ["number"],
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

const CHANNEL_KEYS = new Set(["channel", "medium", "type", "campaigntype", "mediatype", "touchtype"]);

/** A field read back from the canonical table: the source's value when the rule's normal form of it was found there. */
const readBack = (same: boolean, source: string | null, landed: string | null) => (same ? source : landed);

/**
 * A target whose landed CSV is the row's lineage (`legacy_id`), then its fields as mapped (the channel
 * defaulting to the table's declared one): its header and its cells.
 */
function lineageFirst(fields: readonly string[]): Pick<FlatTarget, "fields" | "csvHeader" | "cells"> {
  return {
    fields,
    csvHeader: ["legacy_id", ...fields],
    cells: (f, channel, lineage) => [
      lineage,
      ...fields.map((k) => (k === "channel" ? (f.channel ?? channel) : f[k]) ?? ""),
    ],
  };
}

const campaigns: FlatTarget = {
  name: "campaigns",
  source: "legacy-campaigns",
  ...lineageFirst(["name", "description", "channel", "created_at"]),
  header: true,
  required: ["name"],
  tableName: /campaign/,
  guess(k) {
    if (/^(campaign)?(name|title)$|^campaign$/.test(k)) return "name";
    if (/^(description|desc|notes?|comments?)$/.test(k)) return "description";
    if (CHANNEL_KEYS.has(k)) return "channel";
    if (/^(created(at|on|date)?|startdate|start(ed)?(at|on)?|launched(at|on)?)$/.test(k)) return "created_at";
    return undefined;
  },
  async landed(db, rows) {
    const { rows: found } = await db.query<{
      pk: string;
      name: string;
      name_ok: boolean;
      description: string;
      description_ok: boolean;
      channels: string[];
      channel_ok: boolean;
      created_at: string;
      created_ok: boolean;
    }>(
      `SELECT q.pk, c.name, c.name = legacy_campaign_name(q.name) AS name_ok,
              c.description, c.description = coalesce(regexp_replace(btrim(q.description), '\\s+', ' ', 'g'), '') AS description_ok,
              c.channels, c.channels = ARRAY[q.channel] AS channel_ok,
              to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
              q.created_at IS NULL OR c.created_at = (CASE WHEN q.created_at ~ '^\\d{4}-\\d{2}-\\d{2}$'
                THEN q.created_at || ' 00:00:00+00' ELSE q.created_at END)::timestamptz AS created_ok
         FROM jsonb_to_recordset($1::jsonb) AS q(pk text, lineage text, name text, description text, channel text, created_at text)
         JOIN campaigns c ON c.legacy_id = q.lineage`,
      [
        JSON.stringify(
          rows.map((r) => ({
            ...r.fields,
            pk: r.pk,
            lineage: r.lineage,
            channel: channelOf((r.fields.channel ?? r.channel ?? "").toUpperCase()),
          })),
        ),
      ],
    );
    const byPk = new Map(rows.map((r) => [r.pk, r.fields]));
    return new Map(
      found.map((c) => {
        const f = byPk.get(c.pk)!;
        return [
          c.pk,
          {
            ...f,
            name: readBack(c.name_ok, f.name ?? null, c.name),
            description: readBack(c.description_ok, f.description ?? null, c.description),
            channel: readBack(c.channel_ok, f.channel ?? null, c.channels.join(",")),
            created_at: readBack(c.created_ok, f.created_at ?? null, c.created_at),
          },
        ];
      }),
    );
  },
};

const touchpoints: FlatTarget = {
  name: "touchpoints",
  source: "legacy-touchpoints",
  ...lineageFirst(["campaign", "person", "channel", "touched_at"]),
  header: true,
  required: ["campaign", "person", "touched_at"],
  references: { campaign: "campaigns", person: "contacts" },
  tableName: /touch|contacthistory|campaignhistory|campaignmembers|mailhistory|mailings/,
  guess(k) {
    if (/^campaign(id|no|code|name|key)?$/.test(k)) return "campaign";
    if (/^(customer|person|contact|lead|prospect|member|client|people)(id|no|key)?$/.test(k)) return "person";
    if (CHANNEL_KEYS.has(k)) return "channel";
    if (
      /^(touched|sent|mailed|contacted|called|emailed|touch|send|mail|contact)(at|on|date|time)?$|^(date|datetime|timestamp|createdat|createdon)$/.test(
        k,
      )
    )
      return "touched_at";
    return undefined;
  },
  async landed(db, rows) {
    const { rows: found } = await db.query<{ pk: string }>(
      `SELECT q.pk
         FROM jsonb_to_recordset($1::jsonb) AS q(pk text, campaign text, person text, channel text, at text)
         JOIN touchpoints t ON t.customer_id = q.person AND t.channel = q.channel
          AND t.campaign = coalesce((SELECT c.name FROM campaigns c WHERE c.legacy_id = q.campaign),
                                    legacy_campaign_name(q.campaign))
          AND t.touched_on = ((CASE WHEN q.at ~ '^\\d{4}-\\d{2}-\\d{2}$' THEN q.at || ' 00:00:00+00' ELSE q.at END)::timestamptz
                              AT TIME ZONE 'UTC')::date
        WHERE q.at IS NOT NULL`,
      [
        JSON.stringify(
          rows.map((r) => ({
            pk: r.pk,
            campaign: r.resolved.campaign,
            person: r.resolved.person,
            channel: channelOf((r.fields.channel ?? r.channel ?? "").toUpperCase()),
            at: r.fields.touched_at,
          })),
        ),
      ],
    );
    const byPk = new Map(rows.map((r) => [r.pk, r.fields]));
    // The touchpoint of the row's campaign, person, channel and day is there: its fields read back as the source wrote them.
    return new Map(found.map((f) => [f.pk, byPk.get(f.pk)!]));
  },
};

// Touchpoints before campaigns: "campaign_touches" names touchpoints.
export const FLAT_TARGETS: readonly FlatTarget[] = [optOuts, doNotCall, touchpoints, campaigns];
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
