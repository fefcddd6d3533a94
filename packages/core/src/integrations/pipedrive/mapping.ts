import { createHash } from "node:crypto";
import { ConfigError } from "../../errors";

/**
 * The Pipedrive sync's mapping: which system owns each field. A field leadpipe owns is sent from
 * the golden record and re-asserted when a salesperson changes it in Pipedrive; a field Pipedrive
 * owns is set once at creation (owner, stage) or never, and what Pipedrive says is applied to the
 * golden record. docs/integrations.md prints this table.
 */
export type Entity = "person" | "deal";
export type Owner = "leadpipe" | "pipedrive";

export interface FieldRule {
  entity: Entity;
  /** Our name, also the name a custom field is declared under in owner_field_map (`person.notes`). */
  field: string;
  owner: Owner;
  /** A v2 property of the record, or undefined for a custom field (keyed by its 40-hex key). */
  property?: string;
  /** A custom field whose key must be declared for the sync to run at all. */
  required?: boolean;
  meaning: string;
}

export const FIELDS: readonly FieldRule[] = [
  { entity: "person", field: "name", owner: "leadpipe", property: "name", meaning: "golden record's full name" },
  { entity: "person", field: "emails", owner: "leadpipe", property: "emails", meaning: "golden record's e-mail" },
  { entity: "person", field: "phones", owner: "leadpipe", property: "phones", meaning: "golden record's phone" },
  {
    entity: "person",
    field: "leadpipe_id",
    owner: "leadpipe",
    required: true,
    meaning: "our marker: found before any re-create",
  },
  { entity: "person", field: "tracking_code", owner: "leadpipe", meaning: "the lead's mail piece (IMb)" },
  { entity: "person", field: "owner_id", owner: "pipedrive", property: "owner_id", meaning: "the salesperson" },
  { entity: "person", field: "do_not_contact", owner: "pipedrive", meaning: "becomes an opt-out (call, e-mail)" },
  { entity: "person", field: "notes", owner: "pipedrive", meaning: "the salesperson's notes" },
  { entity: "deal", field: "title", owner: "leadpipe", property: "title", meaning: "Lead <tracking code>" },
  { entity: "deal", field: "person_id", owner: "leadpipe", property: "person_id", meaning: "the deal's person" },
  { entity: "deal", field: "leadpipe_id", owner: "leadpipe", required: true, meaning: "our marker" },
  { entity: "deal", field: "tracking_code", owner: "leadpipe", meaning: "the lead's mail piece (IMb)" },
  { entity: "deal", field: "interested_at", owner: "leadpipe", meaning: "the first interested call" },
  { entity: "deal", field: "stage_id", owner: "pipedrive", property: "stage_id", meaning: "the deal's stage" },
  { entity: "deal", field: "status", owner: "pipedrive", property: "status", meaning: "open, won, lost" },
  { entity: "deal", field: "owner_id", owner: "pipedrive", property: "owner_id", meaning: "the salesperson" },
];

/** A rule with its custom field key resolved (undefined key: a custom field not declared, not synced). */
export interface BoundRule extends FieldRule {
  key?: string;
}

/** The mapping bound to the declared field keys; a required custom field without a key is refused. */
export function bindFields(fieldMap: Record<string, string> | undefined, where: string): BoundRule[] {
  const map = fieldMap ?? {};
  const known = new Set(FIELDS.filter((r) => !r.property).map((r) => `${r.entity}.${r.field}`));
  for (const name of Object.keys(map))
    if (!known.has(name))
      throw new ConfigError(
        `${where}: owner_field_map.${name}: not a custom field of the mapping (${[...known].join(", ")})`,
      );
  return FIELDS.map((r): BoundRule => {
    if (r.property) return { ...r };
    const key = map[`${r.entity}.${r.field}`];
    if (!key && r.required)
      throw new ConfigError(`${where}: owner_field_map."${r.entity}.${r.field}" is required (a custom field key)`);
    return { ...r, key };
  }).filter((r) => r.property || r.key);
}

/** A record as Pipedrive's v2 returns it (the parts the sync reads). */
export interface RemoteRecord {
  id: number;
  update_time: string;
  custom_fields?: Record<string, unknown> | null;
  [k: string]: unknown;
}

export type Values = Record<string, unknown>;

/** One field's value in a comparable form: e-mail and phone lists as their sorted values. */
function normalize(field: string, v: unknown): unknown {
  if (field === "emails" || field === "phones") {
    const list = Array.isArray(v) ? v : [];
    return list
      .map((x) => (x && typeof x === "object" ? String((x as { value?: unknown }).value ?? "") : String(x)))
      .filter((x) => x !== "")
      .sort();
  }
  if (field === "do_not_contact") return v === true || v === "true" || v === 1 || v === "1" || v === "yes";
  return v === undefined || v === "" ? null : v;
}

/** The values of one owner's fields in a record read from Pipedrive. */
export function readValues(rules: readonly BoundRule[], entity: Entity, owner: Owner, rec: RemoteRecord): Values {
  const out: Values = {};
  for (const r of rules) {
    if (r.entity !== entity || r.owner !== owner) continue;
    const raw = r.property ? rec[r.property] : rec.custom_fields?.[r.key!];
    out[r.field] = normalize(r.field, raw);
  }
  return out;
}

/** Our values in comparable form (what we send, as readValues would read it back). */
export function normalizeValues(v: Values): Values {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(k, x)]));
}

/** A stable hash of values (keys sorted). */
export function hashValues(v: Values): string {
  const sorted = Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 32);
}

/** The fields whose values differ between what was last sent and what is wanted now. */
export function changedFields(sent: Values, wanted: Values): string[] {
  return Object.keys(wanted).filter((k) => JSON.stringify(sent[k] ?? null) !== JSON.stringify(wanted[k] ?? null));
}

/** The v2 request body for these leadpipe-owned fields (custom fields under custom_fields by key). */
export function toBody(rules: readonly BoundRule[], entity: Entity, v: Values, fields: readonly string[]): Values {
  const body: Values = {};
  const custom: Values = {};
  for (const f of fields) {
    const r = rules.find((x) => x.entity === entity && x.field === f);
    if (!r) continue;
    const value = v[f];
    if (r.property === "emails" || r.property === "phones") {
      body[r.property] = ((value as string[] | null) ?? []).map((x, i) => ({
        value: x,
        primary: i === 0,
        label: "work",
      }));
    } else if (r.property) body[r.property] = value;
    else custom[r.key!] = value;
  }
  if (Object.keys(custom).length > 0) body.custom_fields = custom;
  return body;
}
