import { readFileSync } from "node:fs";
import { z } from "zod";
import { mapHeaders } from "../people/headers";
import { CONTACT_FIELDS, type ContactField } from "../people/record";
import type { ColumnKind, LegacyColumn } from "./cast";
import type { LegacyTable } from "./readers";

/**
 * How a legacy table lands: like a source spec, data rather than code. Inferred from column
 * names the way contact lists' headers are (people/headers.ts), overridden by a mapping file.
 */
export interface TableSpec {
  table: string;
  /** "contacts": person records through the legacy-contacts source; "drop": counted, not landed. */
  target: "contacts" | "drop";
  /** column → contact field. */
  fields: Record<string, ContactField>;
  /** Columns the mapping drops (not landed, not checksummed). */
  dropped: string[];
  /** Every other column: kept in the record's `extra`. */
  extra: string[];
  columns: LegacyColumn[];
  key: string[];
}

const KINDS = ["integer", "decimal", "float", "date", "datetime", "timestamp", "text", "binary", "boolean"] as const;

const MappingFile = z
  .object({
    timeZone: z.string().optional(),
    tables: z
      .record(
        z.string(),
        z
          .object({
            target: z.enum(["contacts", "drop"]).optional(),
            /** column → a contact field, "extra" (kept as is) or "drop". */
            columns: z
              .record(
                z.string(),
                z.union([
                  z.enum(CONTACT_FIELDS as unknown as [ContactField, ...ContactField[]]),
                  z.literal("extra"),
                  z.literal("drop"),
                ]),
              )
              .optional(),
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
    // Key columns are lineage, never a person's field; dropped and "extra" columns are not guessed at.
    const candidates = columns.map((c) =>
      key.includes(c.name) || dropped.includes(c.name) || forced.has(c.name) ? "\u0000" : c.name,
    );
    const guessed = mapHeaders(candidates, explicit);
    const fields: Record<string, ContactField> = {};
    for (const [i, f] of guessed.fields) fields[columns[i]!.name] = f;
    const named = Object.values(fields).some((f) => f === "first_name" || f === "last_name" || f === "full_name");
    const target = m.target ?? (named ? "contacts" : undefined);
    if (!target) unmappable.push(t.name);
    const extra = columns.map((c) => c.name).filter((c) => !(c in fields) && !dropped.includes(c));
    return { table: t.name, target: target ?? "drop", fields, dropped, extra, columns, key };
  });
  if (unmappable.length) {
    throw new Error(
      `no target for ${unmappable.join(", ")} (no column names a person): give each a "target" ("contacts" or "drop") ` +
        "in the mapping file, or leave it out with --only",
    );
  }
  return specs;
}

/** The mapping as people review it (--dry-run). */
export function describeSpecs(specs: readonly TableSpec[]): string {
  return specs
    .map((s) => {
      const lines = [`${s.table} → ${s.target}  (key ${s.key.join(", ")})`];
      if (s.target === "contacts") {
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
