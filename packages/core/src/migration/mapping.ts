import { readFileSync } from "node:fs";
import { z } from "zod";
import { headerKey, mapHeaders } from "../people/headers";
import { CHANNELS } from "../compliance/channels";
import { CONTACT_FIELDS } from "../people/record";
import { FLAT_TARGETS, type FlatTarget, flatTarget, impliedChannel, targetByTableName } from "./targets";
import type { ColumnKind, LegacyColumn } from "./cast";
import { CSV_ROW, type LegacyTable } from "./readers";

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
  /** Touchpoints: field → the legacy table whose rows it names (landed as the lineage of the row named). */
  refs?: Record<string, string>;
  /**
   * A child table of a person table (a phones table keyed by customer id): the column naming the
   * parent row and the parent table. Each row lands as a record of the parent's person.
   */
  parent?: ParentSpec;
  /** A person table that child tables attach to: its records carry their own lineage as the link. */
  linked?: boolean;
}

/** The person table a child table attaches to: how its rows are looked up and which of its columns name the person. */
export interface ParentSpec {
  /** The child's column holding the parent's key. */
  column: string;
  table: string;
  /** The parent's key column and columns (with the mapping's casts). */
  key: string;
  columns: LegacyColumn[];
  /** The parent's columns that hold a name → their contact field (copied onto the child's records). */
  names: Record<string, string>;
}

const NAME_FIELDS = new Set(["full_name", "prefix", "first_name", "middle_name", "last_name", "suffix"]);

export type TargetName = "contacts" | "opt-outs" | "do-not-call" | "campaigns" | "touchpoints" | "drop";
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
            /**
             * column → the legacy table whose primary key it holds (besides the catalogue's foreign keys
             * and the <table>_id convention): a child table's parent, a touchpoint's campaign or person.
             */
            references: z.record(z.string(), z.string()).optional(),
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
  return parseMapping(json, `mapping file ${file}`);
}

/** A mapping given as JSON (a file's content, a state machine's input); `where` names it in the error. */
export function parseMapping(json: unknown, where: string): MappingFile {
  const parsed = MappingFile.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${where}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}

/** Contact fields that reach a person (a child table's rows carry one of them). */
const CONTACT_POINTS = new Set(["email", "phone", "phone2", "street", "city", "state", "zip", "dob"]);

/** The table a column names by the <table>_id convention (customer_id → customers), if the source has one. */
function byConvention(column: string, tables: readonly LegacyTable[], self: string): string | undefined {
  const m = /^(.+?)[_\s-]?id$/i.exec(column);
  if (!m) return undefined;
  const base = headerKey(m[1]!);
  const names = new Set([base, `${base}s`, `${base}es`, base.replace(/y$/, "ies")]);
  return tables.find((t) => t.name !== self && names.has(headerKey(t.name)))?.name;
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
  // Every table's mapping first: a reference is judged by the target of the table it names.
  const bases = new Map(tables.map((t) => [t.name, baseOf(t, mapping.tables[t.name] ?? {})]));
  /** The table a column of `t` names by its key: declared, a foreign key, or the <table>_id convention. */
  const referenced = (t: LegacyTable, column: string): string | undefined => {
    const declared = mapping.tables[t.name]?.references?.[column];
    if (declared !== undefined) {
      const to = bases.get(declared);
      if (!to) throw new Error(`mapping for ${t.name}: references a table "${declared}" not in the source`);
      if (to.key.length !== 1 || to.key[0] === CSV_ROW)
        throw new Error(
          `mapping for ${t.name}: ${column} cannot name rows of ${declared} (its key is ` +
            `${to.key[0] === CSV_ROW ? "its row number" : to.key.join(", ")}; a reference needs a one-column key)`,
        );
      return declared;
    }
    const fk = t.references?.find((r) => r.column === column);
    const name = fk?.table ?? byConvention(column, tables, t.name);
    const to = name ? bases.get(name) : undefined;
    // A CSV file's rows are keyed by their row number, which no column of another file holds.
    if (!name || !to || to.key.length !== 1 || to.key[0] === CSV_ROW || (fk?.to !== undefined && fk.to !== to.key[0]))
      return undefined;
    return name;
  };
  const childOf = new Map<string, ParentSpec>();
  for (const t of tables) {
    const b = bases.get(t.name)!;
    const own = targetOf(b);
    if (b.named || (own && own !== "contacts")) continue;
    if (![...b.guessed.fields.values()].some((f) => CONTACT_POINTS.has(f))) continue;
    for (const c of b.columns) {
      if (!b.open(c.name)) continue;
      const table = referenced(t, c.name);
      const p = table ? bases.get(table)! : undefined;
      if (p && table !== t.name && targetOf(p) === "contacts") {
        const names = [...p.guessed.fields].filter(([, f]) => NAME_FIELDS.has(f));
        childOf.set(t.name, {
          column: c.name,
          table: p.name,
          key: p.key[0]!,
          columns: p.columns,
          names: Object.fromEntries(names.map(([i, f]) => [p.columns[i]!.name, f])),
        });
        break;
      }
    }
  }
  const linked = new Set([...childOf.values()].map((p) => p.table));
  const chosen = only?.length ? tables.filter((t) => only.includes(t.name)) : tables;
  const unmappable: string[] = [];
  const specs = chosen.map((t): TableSpec => {
    const b = bases.get(t.name)!;
    const m = mapping.tables[t.name] ?? {};
    const { columns, key, dropped } = b;
    const parent = childOf.get(t.name);
    const target = parent ? "contacts" : targetOf(b);
    if (!target) unmappable.push(t.name);
    const flat = target ? flatTarget(target) : undefined;
    const { fields, channel, refs } = flat
      ? flatFields(t, b, flat, m.channel, (col) => {
          const table = referenced(t, col);
          return { table, is: table ? targetOf(bases.get(table)!) : undefined };
        })
      : { fields: contactFields(t, b), channel: undefined, refs: {} };
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
      ...(Object.keys(refs).length ? { refs } : {}),
      ...(parent ? { parent } : {}),
      ...(target === "contacts" && linked.has(t.name) ? { linked: true } : {}),
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

type Base = ReturnType<typeof baseOf>;

/** A contacts table's fields: the columns' names mapped as contact lists' headers are (explicit ones first). */
function contactFields(t: LegacyTable, b: Base): Record<string, string> {
  for (const f of Object.keys(b.explicit))
    if (!(CONTACT_FIELDS as readonly string[]).includes(f))
      throw new Error(`mapping for ${t.name}: "${f}" is not a contact field`);
  const fields: Record<string, string> = {};
  for (const [i, f] of b.guessed.fields) fields[b.columns[i]!.name] = f;
  return fields;
}

/**
 * A flat target's fields (declared, then guessed from column names), the channel of every row when no
 * column holds it, and the tables its reference fields name (`referenced`: a column's table and its target).
 */
function flatFields(
  t: LegacyTable,
  b: Base,
  flat: FlatTarget,
  declaredChannel: string | undefined,
  referenced: (column: string) => { table: string | undefined; is: TargetName | undefined },
) {
  const fields: Record<string, string> = {};
  for (const [f, col] of Object.entries(b.explicit)) {
    if (!flat.fields.includes(f)) throw new Error(`mapping for ${t.name}: "${f}" is not a field of ${flat.name}`);
    fields[col] = f;
  }
  for (const c of b.columns) {
    const f = b.open(c.name) && !(c.name in fields) ? flat.guess(headerKey(c.name)) : undefined;
    if (f && !Object.values(fields).includes(f)) fields[c.name] = f;
  }
  const columnOf = (f: string) => Object.keys(fields).find((c) => fields[c] === f);
  for (const f of flat.required)
    if (!columnOf(f)) throw new Error(`${t.name} → ${flat.name}: no column for "${f}" (name it in the mapping)`);
  let channel = declaredChannel;
  if (flat.name !== "do-not-call" && !Object.values(fields).includes("channel")) {
    channel ??= flat.name === "opt-outs" ? impliedChannel(columnOf(flat.required[0]!)!) : undefined;
    if (!channel)
      throw new Error(
        `${t.name} → ${flat.name}: no channel column; declare "channel" (email, call, sms, mail) in the mapping`,
      );
  }
  return { fields, channel, refs: referenceTables(t, flat, columnOf, referenced) };
}

/** The tables a flat target's reference fields name (a person column must name a person table). */
function referenceTables(
  t: LegacyTable,
  flat: FlatTarget,
  columnOf: (field: string) => string | undefined,
  referenced: (column: string) => { table: string | undefined; is: TargetName | undefined },
): Record<string, string> {
  const refs: Record<string, string> = {};
  for (const [f, wants] of Object.entries(flat.references ?? {})) {
    const col = columnOf(f)!;
    const { table, is } = referenced(col);
    if (table && is === wants) refs[f] = table;
    else if (wants === "contacts")
      throw new Error(
        `${t.name} → ${flat.name}: column ${col} names no person table (${table ? `${table} lands as ${is ?? "nothing"}` : "no foreign key, no <table>_id match"}); ` +
          `declare "references": {"${col}": "<table>"} in the mapping`,
      );
  }
  return refs;
}

type TableMapping = MappingFile["tables"][string];

/** A table's own mapping: columns, casts, key, the fields its column names suggest and the target they imply. */
function baseOf(t: LegacyTable, m: TableMapping) {
  const columns = t.columns.map((c) => (m.cast?.[c.name] ? { ...c, kind: m.cast[c.name] as ColumnKind } : c));
  for (const c of [
    ...Object.keys(m.columns ?? {}),
    ...Object.keys(m.cast ?? {}),
    ...Object.keys(m.references ?? {}),
    ...(m.key ?? []),
  ]) {
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
  const named = [...guessed.fields.values()].some((f) => f === "first_name" || f === "last_name" || f === "full_name");
  return { columns, key, explicit, dropped, open, guessed, named, declared: m.target, name: t.name };
}

/** The target a table's mapping declares, its name suggests, or its columns imply (a person's name: contacts). */
const targetOf = (b: Base): TargetName | undefined =>
  b.declared ?? targetByTableName(b.name)?.name ?? (b.named ? "contacts" : undefined);

/** What a column becomes, as --dry-run prints it. */
function columnRole(s: TableSpec, column: string): string {
  const field = s.fields[column];
  if (field) return s.refs?.[field] ? `${field} (a row of ${s.refs[field]})` : field;
  if (s.parent?.column === column) return `(the ${s.parent.table} row; extra)`;
  if (s.dropped.includes(column)) return "(dropped)";
  return s.key.includes(column) ? "(key, lineage and extra)" : "extra";
}

/** The mapping as people review it (--dry-run). */
export function describeSpecs(specs: readonly TableSpec[]): string {
  return specs
    .map((s) => {
      const notes = [
        `key ${s.key.join(", ")}`,
        ...(s.channel ? [`channel ${s.channel}`] : []),
        ...(s.parent ? [`attached to ${s.parent.table} by ${s.parent.column}`] : []),
        ...(s.linked ? ["child tables attach to it"] : []),
      ];
      const lines = [`${s.table} → ${s.target}  (${notes.join(", ")})`];
      if (s.target !== "drop")
        for (const c of s.columns)
          lines.push(`  ${c.name.padEnd(24)} ${c.declared.padEnd(22)} → ${columnRole(s, c.name)}`);
      return lines.join("\n");
    })
    .join("\n");
}
