import { readFileSync } from "node:fs";
import { z } from "zod";
import { headerKey, mapHeaders } from "../people/headers";
import { CHANNELS } from "../compliance/channels";
import { CONTACT_FIELDS } from "../people/record";
import { FLAT_TARGETS, flatTarget, impliedChannel, targetByTableName } from "./targets";
import type { ColumnKind, LegacyColumn } from "./cast";
import type { LegacyTable } from "./readers";

/**
 * How a legacy table lands: like a source spec, data rather than code. Inferred from column
 * names the way contact lists' headers are (people/headers.ts), overridden by a mapping file.
 */
export interface TableSpec {
  table: string;
  /**
   * "contacts": person records through the legacy-contacts source; "opt-outs", "do-not-call": through
   * those sources (targets.ts); "drop": counted, not landed.
   */
  target: TargetName;
  /** column → the target's field (a contact field for contacts). */
  fields: Record<string, string>;
  /** Opt-outs without a channel column: the channel of every row (declared, or implied by the value column). */
  channel?: string;
  /** Columns the mapping drops (not landed, not checksummed). */
  dropped: string[];
  /** Every other column: kept in the record's `extra`. */
  extra: string[];
  columns: LegacyColumn[];
  key: string[];
}

export type TargetName = "contacts" | "opt-outs" | "do-not-call" | "drop";
const TARGETS = ["contacts", ...FLAT_TARGETS.map((t) => t.name), "drop"] as [TargetName, ...TargetName[]];
const FIELD_NAMES = [...new Set([...CONTACT_FIELDS, ...FLAT_TARGETS.flatMap((t) => t.fields)])] as [
  string,
  ...string[],
];

const KINDS = ["integer", "decimal", "float", "date", "datetime", "timestamp", "text", "binary", "boolean"] as const;

const MappingFile = z
  .object({
    timeZone: z.string().optional(),
    tables: z
      .record(
        z.string(),
        z
          .object({
            target: z.enum(TARGETS).optional(),
            /** column → a field of the table's target, "extra" (kept as is) or "drop". */
            columns: z
              .record(z.string(), z.union([z.enum(FIELD_NAMES), z.literal("extra"), z.literal("drop")]))
              .optional(),
            /** Opt-outs: the channel of every row when no column holds it (email, call, sms, mail). */
            channel: z.enum(CHANNELS).optional(),
            /** column → how its text is read (e.g. a CSV column of dates). */
            cast: z.record(z.string(), z.enum(KINDS)).optional(),
            key: z.array(z.string()).min(1).optional(),
          })
          .strict(),
      )
      .default({}),
  })
  .strict();
export type MappingFile = z.infer<typeof MappingFile>;

export function readMappingFile(file: string): MappingFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`mapping file ${file}: ${(err as Error).message}`);
  }
  const parsed = MappingFile.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `mapping file ${file}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

/** The spec of each table; a table with no target (nothing names a person, no mapping) is an error naming it. */
export function tableSpecs(
  tables: readonly LegacyTable[],
  mapping: MappingFile = { tables: {} },
  only?: readonly string[],
): TableSpec[] {
  const names = new Set(tables.map((t) => t.name));
  for (const n of [...(only ?? []), ...Object.keys(mapping.tables)]) {
    if (!names.has(n)) throw new Error(`no table "${n}" in the source (tables: ${[...names].join(", ")})`);
  }
  const chosen = only?.length ? tables.filter((t) => only.includes(t.name)) : tables;
  const unmappable: string[] = [];
  const specs = chosen.map((t): TableSpec => {
    const m = mapping.tables[t.name] ?? {};
    const columns = t.columns.map((c) => (m.cast?.[c.name] ? { ...c, kind: m.cast[c.name] as ColumnKind } : c));
    for (const c of [...Object.keys(m.columns ?? {}), ...Object.keys(m.cast ?? {}), ...(m.key ?? [])]) {
      if (!columns.some((x) => x.name === c)) throw new Error(`mapping for ${t.name}: no column "${c}"`);
    }
    const key = m.key ?? t.key;
    const explicit: Record<string, string> = {};
    const dropped: string[] = [];
    const forced = new Set<string>();
    for (const [col, to] of Object.entries(m.columns ?? {})) {
      if (to === "drop") dropped.push(col);
      else if (to === "extra") forced.add(col);
      else explicit[to] = col;
    }
    // Key columns are lineage, never a field; dropped and "extra" columns are not guessed at.
    const open = (c: string) => !key.includes(c) && !dropped.includes(c) && !forced.has(c);
    const guessed = mapHeaders(
      columns.map((c) => (open(c.name) ? c.name : "\u0000")),
      Object.fromEntries(Object.entries(explicit).filter(([f]) => (CONTACT_FIELDS as readonly string[]).includes(f))),
    );
    const named = [...guessed.fields.values()].some(
      (f) => f === "first_name" || f === "last_name" || f === "full_name",
    );
    const target = m.target ?? targetByTableName(t.name)?.name ?? (named ? "contacts" : undefined);
    if (!target) unmappable.push(t.name);
    const fields: Record<string, string> = {};
    const flat = target ? flatTarget(target) : undefined;
    let channel: string | undefined = m.channel;
    if (flat) {
      for (const [f, col] of Object.entries(explicit)) {
        if (!flat.fields.includes(f)) throw new Error(`mapping for ${t.name}: "${f}" is not a field of ${flat.name}`);
        fields[col] = f;
      }
      for (const c of columns) {
        const f = open(c.name) && !(c.name in fields) ? flat.guess(headerKey(c.name)) : undefined;
        if (f && !Object.values(fields).includes(f)) fields[c.name] = f;
      }
      const main = flat.name === "opt-outs" ? "value" : "number";
      const mainColumn = Object.keys(fields).find((c) => fields[c] === main);
      if (!mainColumn) throw new Error(`${t.name} → ${flat.name}: no column for "${main}" (name it in the mapping)`);
      if (flat.name === "opt-outs" && !Object.values(fields).includes("channel")) {
        channel ??= impliedChannel(mainColumn);
        if (!channel)
          throw new Error(
            `${t.name} → opt-outs: no channel column; declare "channel" (email, call, sms, mail) in the mapping`,
          );
      }
    } else {
      for (const f of Object.keys(explicit))
        if (!(CONTACT_FIELDS as readonly string[]).includes(f))
          throw new Error(`mapping for ${t.name}: "${f}" is not a contact field`);
      for (const [i, f] of guessed.fields) fields[columns[i]!.name] = f;
    }
    const extra = columns.map((c) => c.name).filter((c) => !(c in fields) && !dropped.includes(c));
    return {
      table: t.name,
      target: target ?? "drop",
      fields,
      dropped,
      extra,
      columns,
      key,
      ...(flat && channel ? { channel } : {}),
    };
  });
  if (unmappable.length) {
    throw new Error(
      `no target for ${unmappable.join(", ")} (no column names a person): give each a "target" (${TARGETS.join(", ")}) ` +
        "in the mapping file, or leave it out with --only",
    );
  }
  return specs;
}

/** The mapping as people review it (--dry-run). */
export function describeSpecs(specs: readonly TableSpec[]): string {
  return specs
    .map((s) => {
      const lines = [`${s.table} → ${s.target}  (key ${s.key.join(", ")}${s.channel ? `, channel ${s.channel}` : ""})`];
      if (s.target !== "drop") {
        for (const c of s.columns) {
          const to =
            s.fields[c.name] ??
            (s.dropped.includes(c.name) ? "(dropped)" : s.key.includes(c.name) ? "(key, lineage and extra)" : "extra");
          lines.push(`  ${c.name.padEnd(24)} ${c.declared.padEnd(22)} → ${to}`);
        }
      }
      return lines.join("\n");
    })
    .join("\n");
}
