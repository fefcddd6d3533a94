import { createHash, randomUUID } from "node:crypto";
import type { Queryable } from "../db";
import type { Needs } from "../ports";
import { castRow, checkTimeZone, verbatim, type Flag } from "./cast";
import { keyOf, type LegacyReader, type LegacyRow, type LegacyTable } from "./readers";
import { CONTACT_FIELDS } from "../people/record";
import { tableSpecs, type MappingFile, type TableSpec } from "./mapping";
import { FLAT_TARGETS, flatTarget } from "./targets";
import { catalogueChanges, runCatalogue, tablesOf, unchangedCatalogue, type Catalogue } from "./catalogue";

/**
 * Tables whose rows name rows of other tables by their landed records (touchpoints: their campaign and
 * person): landed once every other table's imports are done (`landTables(…, LANDS_LATER)`).
 */
export const landsLater = (spec: TableSpec) => spec.target === "touchpoints";

/** The source spec every legacy people row lands through (sources/legacy-contacts.ts). */
export const LEGACY_SOURCE = "legacy-contacts";

export interface RunOptions {
  mapping: MappingFile;
  only?: string[];
  /** Rows per key range: one landed object and one import each. */
  rangeRows: number;
  timeZone: string;
  /** The source's own checksums when the run started (CSV: sha256 per file). */
  fingerprint?: Record<string, string>;
  /** The lanes the CLI was asked to read with (`--parallel`): `migrate verify` reads with as many. */
  parallel?: number;
}

/** What landing a run touches (the Needs shape) and its own ports: the legacy source and the landing. */
export type LandDeps = Needs<"pool"> & {
  reader: LegacyReader;
  /** Puts an object into the landing bucket (its import starts from there). */
  land(key: string, body: Buffer): Promise<void>;
  /** A line per range landed, for people watching the CLI. */
  progress?: (line: string) => void;
  /** Filled with the milliseconds spent per stage: read (the source), cast (cast and build), land (write, put). */
  timings?: Record<string, number>;
};

/** Adds the milliseconds since `t` to `stage`; returns now. */
function lap(timings: Record<string, number> | undefined, stage: string, t: number): number {
  const now = performance.now();
  if (timings) timings[stage] = (timings[stage] ?? 0) + (now - t);
  return now;
}

export interface LandedRange {
  table: string;
  rangeNo: number;
  objectKey: string;
  sha256: string;
}

const sha256 = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const pkText = (key: string[]) => (key.length === 1 ? key[0]! : JSON.stringify(key));
const lineageOf = (reader: LegacyReader, table: string, key: string[]) => `${reader.lineage}/${table}/${pkText(key)}`;

/** The contact fields written as columns of the landed CSV, in this order. */
const FIELD_ORDER = CONTACT_FIELDS;

const csvCell = (v: string) => (/[",\r\n]|^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** A value as a CSV cell keeps it only when the cell reads back the same (trimmed, one line, not empty). */
const cellOf = (v: string | null) => (v === null ? "" : v.replace(/[\r\n]+/g, " ").trim());

/** The canonical values of a row: every column the mapping keeps, plus the flags of values cast to NULL. */
export type Canonical = Record<string, string | null | Flag>;

function canonicalOf(spec: TableSpec, values: Record<string, string | null>, flags: Record<string, Flag>): Canonical {
  const out: Canonical = {};
  for (const c of spec.columns) if (!spec.dropped.includes(c.name)) out[c.name] = values[c.name] ?? null;
  for (const [c, f] of Object.entries(flags)) if (!spec.dropped.includes(c)) out[`${c}!flag`] = f;
  return out;
}

/** The same canonical values read back from a landed record's raw values. */
function canonicalFromRaw(spec: TableSpec, raw: Record<string, unknown>): Canonical {
  const extra = (raw.extra ?? {}) as {
    columns?: Record<string, string | null>;
    exact?: Record<string, string>;
    flags?: Record<string, Flag>;
  };
  const out: Canonical = {};
  for (const c of spec.columns) {
    if (spec.dropped.includes(c.name)) continue;
    const field = spec.fields[c.name];
    out[c.name] = field
      ? (extra.exact?.[c.name] ?? (raw[field] as string | null | undefined) ?? null)
      : (extra.columns?.[c.name] ?? null);
  }
  for (const [c, f] of Object.entries(extra.flags ?? {})) out[`${c}!flag`] = f;
  return out;
}

const canonicalText = (c: Canonical) =>
  JSON.stringify(
    Object.keys(c)
      .sort()
      .map((k) => [k, c[k]]),
  );

interface LineageRow {
  lineage: string;
  pk: string;
  source_row: number;
  extra: Record<string, unknown>;
}

/** A child row's parent, as looked up: its lineage and name fields, or why it cannot be one. */
type Parent = { lineage: string; names: Record<string, string | null> } | { refused: string };
type Parents = Map<string, Parent>;

/**
 * The parents of a child table's rows (a phones table's customers), looked up by key in the same
 * consistent view: their lineage (the link their records share) and their names, cast as they land.
 */
async function parentsOf(
  reader: LegacyReader,
  spec: TableSpec,
  rows: readonly LegacyRow[],
  timeZone: string,
  lane?: number,
): Promise<Parents | undefined> {
  const p = spec.parent;
  if (!p) return undefined;
  const values = [...new Set(rows.flatMap((r) => (r[p.column] == null ? [] : [String(r[p.column])])))];
  const table = { name: p.table, columns: p.columns, key: [p.key] };
  const parents: Parents = new Map();
  for (const row of await reader.lookup(table, p.key, values, lane)) {
    const key = String(row[p.key]);
    const cast = castRow(row, p.columns, { timeZone });
    parents.set(
      key,
      cast.ok
        ? {
            lineage: lineageOf(reader, p.table, [key]),
            names: Object.fromEntries(Object.entries(p.names).map(([col, f]) => [f, cast.values[col] ?? null])),
          }
        : { refused: `its ${p.table} row ${key} is refused (${cast.reason})` },
    );
  }
  return parents;
}

/** Why a child row cannot land (no parent, or a refused one); undefined when it can or the table has no parent. */
function orphanReason(spec: TableSpec, row: LegacyRow, parents: Parents | undefined): string | undefined {
  const p = spec.parent;
  if (!p || !parents) return undefined;
  const v = row[p.column];
  if (v == null) return `${p.column}: no ${p.table} row named (NULL)`;
  const parent = parents.get(String(v));
  if (!parent) return `${p.column}: no ${p.table} row ${String(v)}`;
  return "refused" in parent ? `${p.column}: ${parent.refused}` : undefined;
}

/** The lineage of the rows a flat target's reference fields name (touchpoints: their campaign and person rows). */
function resolvedRefs(reader: LegacyReader, spec: TableSpec, fields: Record<string, string | null>) {
  const out = { ...fields };
  for (const [f, table] of Object.entries(spec.refs ?? {})) {
    const v = fields[f];
    if (v !== null && v !== undefined) out[f] = lineageOf(reader, table, [v]);
  }
  return out;
}

/**
 * A person record's landed line: its contact fields, lineage, extra values and link. A child row's record
 * carries its parent's name (the child's own columns stay its own) and its parent's lineage as the link;
 * a person row that children attach to links to itself.
 */
function contactLine(
  spec: TableSpec,
  byField: ReadonlyMap<string, string>,
  values: Record<string, string | null>,
  row: LegacyRow,
  parents: Parents | undefined,
  own: string,
  extra: string,
): string {
  const parent = spec.parent ? parents?.get(String(row[spec.parent.column])) : undefined;
  const names = parent && "names" in parent ? parent : undefined;
  const cells = FIELD_ORDER.map((f) => {
    const col = byField.get(f);
    return csvCell(cellOf(col ? (values[col] ?? null) : (names?.names[f] ?? null)));
  });
  const link = names?.lineage ?? (spec.linked ? own : "");
  cells.push(csvCell(own), csvCell(extra), csvCell(link));
  return cells.join(",");
}

/** The landed CSV of a range and what it proves: the row order's keys and the checksum of their canonical values. */
function buildRange(
  reader: LegacyReader,
  spec: TableSpec,
  table: LegacyTable,
  rows: LegacyRow[],
  timeZone: string,
  parents?: Parents,
) {
  const flat = flatTarget(spec.target);
  const lines = flat
    ? flat.header
      ? [(flat.csvHeader ?? flat.fields).join(",")]
      : []
    : [[...FIELD_ORDER, "legacy_id", "legacy_extra", "legacy_person"].join(",")];
  const pks: string[] = [];
  const quarantine: { pk: string; row: Record<string, unknown>; reason: string }[] = [];
  const lineage: LineageRow[] = [];
  const hash = createHash("sha256");
  const byField = new Map(Object.entries(spec.fields).map(([col, f]) => [f, col]));
  for (const row of rows) {
    const key = keyOf(table, row);
    const pk = pkText(key);
    const cast = castRow(row, spec.columns, { timeZone });
    const refused = cast.ok ? orphanReason(spec, row, parents) : cast.reason;
    if (!cast.ok || refused) {
      quarantine.push({ pk, row: verbatim(row), reason: refused! });
      continue;
    }
    const columns: Record<string, string | null> = {};
    for (const c of spec.extra) columns[c] = cast.values[c] ?? null;
    const flags = Object.fromEntries(Object.entries(cast.flags).filter(([c]) => !spec.dropped.includes(c)));
    const extraOf = (exact: Record<string, string>) => ({
      table: spec.table,
      pk,
      columns,
      ...(Object.keys(exact).length ? { exact } : {}),
      ...(Object.keys(flags).length ? { flags } : {}),
    });
    // An empty value reads back as NULL from a CSV cell: kept exactly, as is any value the cell would change.
    const exact: Record<string, string> = {};
    for (const col of Object.keys(spec.fields)) {
      const v = cast.values[col] ?? null;
      if (v !== null && (v === "" || cellOf(v) !== v)) exact[col] = v;
    }
    const own = lineageOf(reader, spec.table, key);
    if (flat) {
      const cells = flat.cells(resolvedRefs(reader, spec, fieldValues(spec, cast.values)), spec.channel, own);
      lines.push(cells.map((c) => csvCell(cellOf(c))).join(","));
      lineage.push({
        lineage: own,
        pk,
        source_row: lines.length,
        extra: extraOf(exact),
      });
    } else {
      lines.push(contactLine(spec, byField, cast.values, row, parents, own, JSON.stringify(extraOf(exact))));
    }
    pks.push(pk);
    hash.update(canonicalText(canonicalOf(spec, cast.values, cast.flags)) + "\n");
  }
  return {
    body: Buffer.from(lines.join("\n") + "\n", "utf8"),
    pks,
    quarantine,
    lineage,
    checksum: hash.digest("hex"),
  };
}

/** A row's mapped values by the target's field names. */
function fieldValues(spec: TableSpec, values: Record<string, string | null>): Record<string, string | null> {
  return Object.fromEntries(Object.entries(spec.fields).map(([col, f]) => [f, values[col] ?? null]));
}

/** The landed CSV's row N (an import's source row) is the range's pks[N - firstRow]. */
const firstRow = (target: string) => (flatTarget(target)?.header === false ? 1 : 2);

/** The source spec a table's ranges are imports of. */
const sourceOf = (target: string) => flatTarget(target)?.source ?? LEGACY_SOURCE;

/** Starts a run; `catalogue`: the source's tables its mapping was checked against (what the run plans against). */
export async function startRun(
  db: Queryable,
  source: string,
  opts: RunOptions,
  catalogue?: readonly LegacyTable[],
): Promise<string> {
  checkTimeZone(opts.timeZone);
  const runId = randomUUID();
  await db.query("INSERT INTO migration_runs (run_id, source, options, catalogue) VALUES ($1, $2, $3, $4)", [
    runId,
    source,
    JSON.stringify(opts),
    catalogue ? JSON.stringify(catalogue) : null,
  ]);
  return runId;
}

export interface RunRow {
  run_id: string;
  source: string;
  options: RunOptions;
  status: string;
  manifest: Manifest | null;
  /** The source's tables as the run began (migration 356); null for a run begun before it was kept. */
  catalogue: LegacyTable[] | null;
}

export async function getRun(db: Queryable, runId: string): Promise<RunRow> {
  if (!/^[0-9a-f-]{36}$/i.test(runId)) throw new Error(`not a run id: "${runId}"`);
  const {
    rows: [run],
  } = await db.query<RunRow>(
    "SELECT run_id, source, options, status, manifest, catalogue FROM migration_runs WHERE run_id = $1",
    [runId],
  );
  if (!run) throw new Error(`no migration run ${runId}`);
  return run;
}

/**
 * Reads every table in key ranges, casts, quarantines refused rows and lands each range as a
 * CSV object. A range's checkpoint is written after its object: a run resumed after a kill
 * starts after the last of its checkpoints without a gap before it (ranges landed after a gap, by a
 * parallel read, are landed again), and a range landed again is the same bytes (a DUPLICATE import).
 * A reader with several lanes reads ranges in parallel, split by key beforehand: the same ranges,
 * the same objects as one lane reads.
 */
export async function landTables(
  deps: LandDeps,
  runId: string,
  opts: RunOptions,
  which: (spec: TableSpec) => boolean = () => true,
): Promise<LandedRange[]> {
  const run = await getRun(deps.pool, runId);
  const { tables, specs: all } = await unchangedCatalogue(deps.pool, deps.reader, { ...run, options: opts });
  const specs = all.filter(which);
  const landed: LandedRange[] = [];
  for (const spec of specs) {
    const table = { ...tables.find((t) => t.name === spec.table)!, key: spec.key };
    const { rows: done } = await deps.pool.query<{
      range_no: number;
      last_key: string[];
      object_key: string | null;
      sha256: string | null;
    }>(
      "SELECT range_no, last_key, object_key, sha256 FROM migration_ranges WHERE run_id = $1 AND table_name = $2 ORDER BY range_no",
      [runId, spec.table],
    );
    let contiguous = 0;
    while (contiguous < done.length && done[contiguous]!.range_no === contiguous) contiguous++;
    const prefix = done.slice(0, contiguous);
    if (prefix.length < done.length) {
      await deps.pool.query("DELETE FROM migration_ranges WHERE run_id = $1 AND table_name = $2 AND range_no >= $3", [
        runId,
        spec.table,
        prefix.length,
      ]);
    }
    for (const d of prefix)
      if (d.object_key)
        landed.push({ table: spec.table, rangeNo: d.range_no, objectKey: d.object_key, sha256: d.sha256! });
    const after = prefix.length ? prefix[prefix.length - 1]!.last_key : null;
    const lanes = deps.reader.lanes;
    if (lanes > 1 && deps.reader.splits) {
      const mine: LandedRange[] = [];
      // Ranges split by key first, then read by each lane in turn: ranges land out of order.
      const plan = planRanges(deps.reader.splits(table, after, opts.rangeRows), after, prefix.length);
      let failed = false;
      const settled = await Promise.allSettled(
        Array.from({ length: lanes }, async (_v, lane) => {
          // A lane that fails stops the others after their range: what landed is checkpointed, the rest resumes.
          while (!failed) {
            const next = await plan.next();
            if (next.done) return;
            mine.push(...(await landPlanned(deps, runId, opts, spec, table, next.value, lane)));
          }
        }).map((lane) =>
          lane.catch((err: unknown) => {
            failed = true;
            throw err;
          }),
        ),
      );
      const error = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
      if (error) throw error.reason;
      landed.push(...mine.sort((a, b) => a.rangeNo - b.rangeNo));
      continue;
    }
    let rangeNo = prefix.length;
    let afterKey = after;
    let t = performance.now();
    for await (const rows of deps.reader.rows(table, after, opts.rangeRows)) {
      t = lap(deps.timings, "read", t);
      landed.push(...(await landRange(deps, runId, opts, spec, table, { rangeNo, afterKey, rows, t })));
      rangeNo++;
      afterKey = keyOf(table, rows[rows.length - 1]!);
      t = performance.now();
    }
  }
  return landed;
}

/** A range of the split plan: the rows after `afterKey` up to `upTo` (inclusive; null: to the end of the table). */
export interface PlannedRange {
  rangeNo: number;
  afterKey: string[] | null;
  upTo: string[] | null;
}

/** The ranges of a parallel read, numbered from `first`: each after the previous split, the last to the end. */
export async function* planRanges(
  splits: AsyncIterable<string[]>,
  after: string[] | null,
  first: number,
): AsyncGenerator<PlannedRange> {
  let rangeNo = first;
  let afterKey = after;
  for await (const upTo of splits) {
    yield { rangeNo: rangeNo++, afterKey, upTo };
    afterKey = upTo;
  }
  yield { rangeNo, afterKey, upTo: null };
}

/**
 * Reads one planned range and lands it (cast, quarantine, object, checkpoint): what a CLI lane does
 * per range and what a state machine's item does, the same code. An empty range lands nothing.
 */
export async function landPlanned(
  deps: LandDeps,
  runId: string,
  opts: RunOptions,
  spec: TableSpec,
  table: LegacyTable,
  range: PlannedRange,
  lane?: number,
): Promise<LandedRange[]> {
  let t = performance.now();
  const rows: LegacyRow[] = [];
  for await (const page of deps.reader.rows(table, range.afterKey, opts.rangeRows, range.upTo ?? undefined, lane))
    rows.push(...page);
  t = lap(deps.timings, "read", t);
  if (!rows.length) return [];
  return landRange(deps, runId, opts, spec, table, { rangeNo: range.rangeNo, afterKey: range.afterKey, rows, t, lane });
}

/** Casts, builds and lands one range, then writes its checkpoint; returns what it landed. */
async function landRange(
  deps: LandDeps,
  runId: string,
  opts: RunOptions,
  spec: TableSpec,
  table: LegacyTable,
  r: { rangeNo: number; afterKey: string[] | null; rows: LegacyRow[]; t: number; lane?: number },
): Promise<LandedRange[]> {
  const { rangeNo, rows } = r;
  let t = r.t;
  const lastKey = keyOf(table, rows[rows.length - 1]!);
  let objectKey: string | null = null;
  let sum: string | null = null;
  let built = {
    pks: [] as string[],
    quarantine: [] as { pk: string; row: Record<string, unknown>; reason: string }[],
    lineage: [] as LineageRow[],
    checksum: "",
  };
  if (spec.target !== "drop") {
    const parents = await parentsOf(deps.reader, spec, rows, opts.timeZone, r.lane);
    const b = buildRange(deps.reader, spec, table, rows, opts.timeZone, parents);
    t = lap(deps.timings, "cast", t);
    built = b;
    objectKey = rangeObjectKey(deps.reader, spec, rangeNo);
    sum = sha256(b.body);
    if (!(await landBuilt(deps, runId, spec, rangeNo, objectKey, b))) objectKey = null;
  }
  await deps.pool.query(
    `INSERT INTO migration_ranges (run_id, table_name, range_no, target, after_key, last_key, source_rows, quarantined, dropped, pks,
                                   object_key, sha256, checksum)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
    [
      runId,
      spec.table,
      rangeNo,
      spec.target,
      r.afterKey === null ? null : JSON.stringify(r.afterKey),
      JSON.stringify(lastKey),
      rows.length,
      built.quarantine.length,
      spec.target === "drop" ? rows.length : 0,
      built.pks,
      objectKey,
      sum,
      built.checksum,
    ],
  );
  deps.progress?.(
    `${spec.table}: range ${rangeNo} (${rows.length} rows${built.quarantine.length ? `, ${built.quarantine.length} quarantined` : ""})`,
  );
  lap(deps.timings, "land", t);
  return objectKey ? [{ table: spec.table, rangeNo, objectKey, sha256: sum! }] : [];
}

type Built = ReturnType<typeof buildRange>;

/**
 * The landing prefixes a migration puts its range objects under, one per source its targets land
 * through (the state machine's Lambdas may put there and nowhere else in inbox/).
 */
export const MIGRATION_LANDING_PREFIXES = [
  ...new Set([LEGACY_SOURCE, ...FLAT_TARGETS.map((t) => t.source)].map((source) => `inbox/${source}/migrate/`)),
];

const safeSegment = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_");
/** The object a range lands as (`suffix`: a replay of its quarantined rows). */
const rangeObjectKey = (reader: LegacyReader, spec: TableSpec, rangeNo: number, suffix = "") =>
  `inbox/${sourceOf(spec.target)}/migrate/${safeSegment(reader.lineage)}/${safeSegment(spec.table)}/` +
  `${String(rangeNo).padStart(6, "0")}${suffix}.csv`;

/** Keeps a range's refused rows, in the quarantine, with their range. */
async function quarantine(
  db: Queryable,
  runId: string,
  table: string,
  rangeNo: number,
  rows: { pk: string; row: Record<string, unknown>; reason: string }[],
  stage: "cast" | "import",
): Promise<void> {
  if (!rows.length) return;
  await db.query(
    `INSERT INTO migration_quarantine (run_id, table_name, pk, row, reason, stage, range_no)
     SELECT $1, $2, q.pk, q.row, q.reason, $4, $5 FROM jsonb_to_recordset($3::jsonb) AS q(pk text, row jsonb, reason text)
     ON CONFLICT (run_id, table_name, pk, stage) DO UPDATE
       SET row = EXCLUDED.row, reason = EXCLUDED.reason, range_no = EXCLUDED.range_no, resolved_at = NULL`,
    [runId, table, JSON.stringify(rows), stage, rangeNo],
  );
}

/** Quarantines a built range's refused rows, keeps its lineage and lands its object; false when no row is left to land. */
async function landBuilt(
  deps: LandDeps,
  runId: string,
  spec: TableSpec,
  rangeNo: number,
  objectKey: string,
  b: Built,
): Promise<boolean> {
  await quarantine(deps.pool, runId, spec.table, rangeNo, b.quarantine, "cast");
  if (b.lineage.length) {
    await deps.pool.query(
      `INSERT INTO migration_rows (target, lineage, table_name, pk, object_key, source_row, extra)
       SELECT $1, l.lineage, $2, l.pk, $3, l.source_row, l.extra
         FROM jsonb_to_recordset($4::jsonb) AS l(lineage text, pk text, source_row int, extra jsonb)
       ON CONFLICT (target, lineage) DO UPDATE
         SET table_name = EXCLUDED.table_name, pk = EXCLUDED.pk, object_key = EXCLUDED.object_key,
             source_row = EXCLUDED.source_row, extra = EXCLUDED.extra, written_at = now()`,
      [spec.target, spec.table, objectKey, JSON.stringify(b.lineage)],
    );
  }
  if (!b.pks.length) return false;
  await deps.land(objectKey, b.body);
  return true;
}

/** A replay of a range's quarantined rows: its object, the rows it holds and the mapping they were cast with. */
interface Replay {
  object_key: string;
  sha256: string;
  pks: string[];
  mapping: MappingFile;
}

export interface ReplayOptions {
  /** Only this table's quarantined rows. */
  table?: string;
  /** The fixed mapping the rows are cast with (default: the run's). Targets and keys must stay as they were. */
  mapping?: MappingFile;
}

/**
 * Casts a run's unresolved quarantined rows again (verbatim, as read; with a fixed mapping if one is
 * given) and lands those that now cast as a replay object of their range. Rows still refused stay
 * quarantined. The same rows with the same mapping are the same bytes: landing them again is a
 * DUPLICATE import, and the range lists each replay object once. Reconcile then counts the rows.
 */
export async function replayQuarantine(
  deps: LandDeps,
  runId: string,
  opts: ReplayOptions = {},
): Promise<LandedRange[]> {
  const run = await getRun(deps.pool, runId);
  const { tables, specs: runSpecs } = await runCatalogue(deps.pool, deps.reader, run);
  const mapping = opts.mapping ?? run.options.mapping;
  const specs = tableSpecs(tables, mapping, run.options.only);
  if (opts.table && !specs.some((s) => s.table === opts.table))
    throw new Error(
      `run ${runId} did not migrate a table "${opts.table}" (tables: ${specs.map((s) => s.table).join(", ")})`,
    );
  for (const spec of specs) {
    const was = runSpecs.find((s) => s.table === spec.table)!;
    if (was.target !== spec.target || was.key.join() !== spec.key.join())
      throw new Error(
        `the mapping changes ${spec.table}'s target or key (${was.target} by ${was.key.join(", ")} → ` +
          `${spec.target} by ${spec.key.join(", ")}): migrate it as a new run instead`,
      );
  }
  const { rows: held } = await deps.pool.query<{ table_name: string; range_no: number; pk: string; row: LegacyRow }>(
    `SELECT DISTINCT ON (table_name, pk) table_name, range_no, pk, row FROM migration_quarantine
      WHERE run_id = $1 AND resolved_at IS NULL AND range_no IS NOT NULL AND ($2::text IS NULL OR table_name = $2)
      ORDER BY table_name, pk, quarantine_id`,
    [runId, opts.table ?? null],
  );
  const landed: LandedRange[] = [];
  const groups = new Map<string, typeof held>();
  for (const q of held) {
    const k = JSON.stringify([q.table_name, q.range_no]);
    groups.set(k, [...(groups.get(k) ?? []), q]);
  }
  for (const [k, rows] of groups) {
    const [tableName, rangeNo] = JSON.parse(k) as [string, number];
    const spec = specs.find((s) => s.table === tableName);
    if (!spec || spec.target === "drop") continue;
    const table = { ...tables.find((t) => t.name === spec.table)!, key: spec.key };
    const read = rows.map((r) => fromVerbatim(r.row, spec));
    const parents = await parentsOf(deps.reader, spec, read, run.options.timeZone);
    const b = buildRange(deps.reader, spec, table, read, run.options.timeZone, parents);
    const sum = sha256(b.body);
    const objectKey = rangeObjectKey(deps.reader, spec, rangeNo, `.replay-${sum.slice(0, 12)}`);
    if (!(await landBuilt(deps, runId, spec, rangeNo, objectKey, b))) continue;
    const replay: Replay = { object_key: objectKey, sha256: sum, pks: b.pks, mapping };
    await deps.pool.query(
      `UPDATE migration_ranges SET replays = replays || jsonb_build_array($4::jsonb)
        WHERE run_id = $1 AND table_name = $2 AND range_no = $3
          AND NOT replays @> jsonb_build_array(jsonb_build_object('object_key', $5::text))`,
      [runId, spec.table, rangeNo, JSON.stringify(replay), objectKey],
    );
    landed.push({ table: spec.table, rangeNo, objectKey, sha256: sum });
    deps.progress?.(
      `${spec.table}: range ${rangeNo} replayed (${b.pks.length} rows${b.quarantine.length ? `, ${b.quarantine.length} still refused` : ""})`,
    );
  }
  return landed;
}

/** A quarantined row as it was read: bytes back from their hex, every other value as kept. */
function fromVerbatim(row: LegacyRow, spec: TableSpec): LegacyRow {
  const out: LegacyRow = {};
  for (const c of spec.columns) {
    const v = row[c.name];
    out[c.name] =
      v !== null && typeof v === "object" && typeof (v as { hex?: unknown }).hex === "string"
        ? Buffer.from((v as { hex: string }).hex, "hex")
        : v;
  }
  return out;
}

export interface TableManifest {
  table: string;
  target: string;
  source_rows: number;
  loaded: number;
  quarantined: number;
  dropped: number;
  balanced: boolean;
  checksums_match: boolean;
  /** Rows whose landed values differ from the source read again (first 100), with the columns that differ. */
  differences?: { pk: string; columns: string[]; reason: string }[];
}
export interface Manifest {
  run_id: string;
  status: string;
  source: string;
  checked_at: string;
  tables: TableManifest[];
}

interface RangeRow {
  table_name: string;
  range_no: number;
  target: string;
  after_key: string[] | null;
  last_key: string[];
  source_rows: number;
  quarantined: number;
  dropped: number;
  pks: string[];
  object_key: string | null;
  sha256: string | null;
  checksum: string;
  replays: Replay[];
}

interface Expected {
  canonical: Canonical;
  values: Record<string, string | null>;
}

/** What landed of these rows, as canonical values read back from the target's tables (by pk). */
async function landedRows(
  db: Queryable,
  reader: LegacyReader,
  spec: TableSpec,
  expected: Map<string, Expected>,
): Promise<Map<string, Canonical>> {
  const lineageOfPk = (pk: string) => lineageOf(reader, spec.table, pk.startsWith("[") ? JSON.parse(pk) : [pk]);
  const landed = new Map<string, Canonical>();
  const flat = flatTarget(spec.target);
  if (!flat) {
    const { rows } = await db.query<{ raw: Record<string, unknown> }>(
      "SELECT raw FROM person_records WHERE source_kind = $1 AND source_key = ANY($2)",
      [LEGACY_SOURCE, [...expected.keys()].map((pk) => `legacy_id=${lineageOfPk(pk).trim().toUpperCase()}`)],
    );
    for (const l of rows) {
      const extra = l.raw.extra as { pk?: string; table?: string } | undefined;
      if (extra?.pk !== undefined && extra.table === spec.table) landed.set(extra.pk, canonicalFromRaw(spec, l.raw));
    }
    return landed;
  }
  const { rows: lineage } = await db.query<{ pk: string; extra: Record<string, unknown> }>(
    "SELECT pk, extra FROM migration_rows WHERE target = $1 AND table_name = $2 AND lineage = ANY($3)",
    [spec.target, spec.table, [...expected.keys()].map(lineageOfPk)],
  );
  const extraOf = new Map(lineage.map((l) => [l.pk, l.extra]));
  const found = await flat.landed(
    db,
    [...expected].map(([pk, e]) => {
      const fields = fieldValues(spec, e.values);
      return {
        pk,
        lineage: lineageOfPk(pk),
        fields,
        resolved: resolvedRefs(reader, spec, fields),
        channel: spec.channel,
      };
    }),
  );
  for (const [pk, fields] of found) {
    const extra = extraOf.get(pk);
    if (extra) landed.set(pk, canonicalFromRaw(spec, { ...fields, extra }));
  }
  return landed;
}

type Quarantined = { pk: string; row: Record<string, unknown>; reason: string };

/**
 * Rows the imports' own rules rejected (pk → reason): the range's import, then each replay's, whose
 * rows replace the range's. An import's row N is its pks[N - 2] (line 1 is the header, if any).
 */
async function importRejects(db: Queryable, spec: TableSpec, r: RangeRow): Promise<Map<string, string>> {
  const rejected = new Map<string, string>();
  const objects = [
    ...(r.object_key && r.sha256 ? [{ object_key: r.object_key, sha256: r.sha256, pks: r.pks }] : []),
    ...r.replays,
  ];
  for (const o of objects) {
    for (const pk of o.pks) rejected.delete(pk);
    const imp = await importOf(db, o.object_key, o.sha256);
    if (!imp) continue;
    const { rows: rej } = await db.query<{ row_number: number; reason: string }>(
      `SELECT row_number, string_agg(coalesce(field_name || ': ', '') || error_message, '; ' ORDER BY field_name) AS reason
         FROM import_rejects WHERE import_id = $1 GROUP BY row_number`,
      [imp.holder],
    );
    for (const x of rej) {
      const pk = o.pks[Number(x.row_number) - firstRow(spec.target)];
      if (pk !== undefined) rejected.set(pk, `rejected by import ${imp.holder}: ${x.reason}`);
    }
  }
  return rejected;
}

/** The import that holds a range's rows: the newest import of its object, or the one it duplicates. */
async function importOf(db: Queryable, objectKey: string, sum: string) {
  const {
    rows: [imp],
  } = await db.query<{ id: string; status: string; duplicate_of: string | null }>(
    `SELECT id, status, duplicate_of FROM imports WHERE object_key = $1 AND sha256 = $2 AND replay_of IS NULL
      ORDER BY (status = 'DUPLICATE'), seq DESC LIMIT 1`,
    [objectKey, sum],
  );
  return imp ? { ...imp, holder: imp.duplicate_of ?? imp.id } : undefined;
}

type Difference = NonNullable<TableManifest["differences"]>[number];

/** What reconciling one range found: stored per range (migration_range_checks), summed per table. */
export interface RangeCheck {
  table: string;
  range_no: number;
  source_rows: number;
  loaded: number;
  quarantined: number;
  dropped: number;
  /** The range's rows that differ (the first 100). */
  differences: Difference[];
  /** The keys the source still refuses (quarantined again). */
  refused: string[];
}

/** A range of a reconciliation: an item of the state machine's reconcile Map (JSON, as the ItemReader reads it). */
export interface CheckItem {
  run_id: string;
  check_id: string;
  table: string;
  range_no: number;
}

/** A reconciliation's items: every checkpointed range of the run, under a new check id. */
export async function planChecks(db: Queryable, runId: string): Promise<{ check_id: string; items: CheckItem[] }> {
  await getRun(db, runId);
  const checkId = randomUUID();
  const { rows } = await db.query<{ table_name: string; range_no: number }>(
    "SELECT table_name, range_no FROM migration_ranges WHERE run_id = $1 ORDER BY table_name, range_no",
    [runId],
  );
  return {
    check_id: checkId,
    items: rows.map((r) => ({ run_id: runId, check_id: checkId, table: r.table_name, range_no: r.range_no })),
  };
}

/**
 * Reconciles one range of a reconciliation and stores what it found (idempotent: a range checked
 * again replaces its row). `lane`: the reader's lane it reads on.
 */
export async function checkItem(
  db: Queryable,
  reader: LegacyReader,
  item: CheckItem,
  lane?: number,
): Promise<RangeCheck> {
  const run = await getRun(db, item.run_id);
  if (run.source !== reader.label) throw new Error(`run ${run.run_id} migrated ${run.source}, not ${reader.label}`);
  return checkRanges(db, reader, run, item.check_id, [item], lane).then((c) => c[0]!);
}

/** Checks these items of one run on one lane, in turn, with the run's catalogue (the source's is not read). */
async function checkRanges(
  db: Queryable,
  reader: LegacyReader,
  run: RunRow,
  checkId: string,
  items: readonly { table: string; range_no: number }[],
  lane?: number,
  catalogue?: Catalogue,
): Promise<RangeCheck[]> {
  const { tables, specs } = catalogue ?? (await runCatalogue(db, reader, run));
  const out: RangeCheck[] = [];
  for (const item of items) {
    const spec = specs.find((s) => s.table === item.table);
    if (!spec) throw new Error(`run ${run.run_id} does not migrate a table "${item.table}"`);
    const {
      rows: [r],
    } = await db.query<RangeRow>(
      "SELECT * FROM migration_ranges WHERE run_id = $1 AND table_name = $2 AND range_no = $3",
      [run.run_id, item.table, item.range_no],
    );
    if (!r) throw new Error(`run ${run.run_id} has no ${item.table} range ${item.range_no}`);
    const c = await checkRange(db, reader, run, tables, spec, r, lane);
    await db.query(
      `INSERT INTO migration_range_checks (run_id, table_name, range_no, check_id, source_rows, loaded, quarantined, dropped, differences, refused)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (run_id, table_name, range_no) DO UPDATE SET
         check_id = EXCLUDED.check_id, source_rows = EXCLUDED.source_rows, loaded = EXCLUDED.loaded,
         quarantined = EXCLUDED.quarantined, dropped = EXCLUDED.dropped, differences = EXCLUDED.differences,
         refused = EXCLUDED.refused, checked_at = now()`,
      [
        run.run_id,
        c.table,
        c.range_no,
        checkId,
        c.source_rows,
        c.loaded,
        c.quarantined,
        c.dropped,
        JSON.stringify(c.differences),
        c.refused,
      ],
    );
    out.push(c);
  }
  return out;
}

/**
 * Reads one range again from the source and compares it with what landed: its counts, the checksum
 * of its canonical values on both sides, and, when they differ, the rows and columns that do. Rows
 * the source refuses again are quarantined again.
 */
async function checkRange(
  db: Queryable,
  reader: LegacyReader,
  run: RunRow,
  tables: LegacyTable[],
  spec: TableSpec,
  r: RangeRow,
  lane?: number,
): Promise<RangeCheck> {
  const opts = run.options;
  const runId = run.run_id;
  const table = { ...tables.find((t) => t.name === spec.table)!, key: spec.key };
  const c: RangeCheck = {
    table: spec.table,
    range_no: r.range_no,
    source_rows: r.source_rows,
    loaded: 0,
    quarantined: 0,
    dropped: 0,
    differences: [],
    refused: [],
  };
  const differences = c.differences;
  const reread: LegacyRow[] = [];
  for await (const page of reader.rows(table, r.after_key, 10_000, r.last_key, lane)) reread.push(...page);
  if (spec.target === "drop") {
    c.dropped = r.dropped;
    if (reread.length !== r.source_rows)
      differences.push({
        pk: pkText(r.last_key),
        columns: [],
        reason: `range ${r.range_no} had ${r.source_rows} rows, now ${reread.length}`,
      });
    return c;
  }
  // Replayed rows were cast with the replay's mapping: they are read back with it too.
  const specOf = new Map<string, TableSpec>();
  const replayed: string[] = [];
  for (const rp of r.replays) {
    const rs = tableSpecs(tables, rp.mapping, opts.only).find((x) => x.table === spec.table) ?? spec;
    for (const pk of rp.pks) specOf.set(pk, rs);
    replayed.push(...rp.pks);
  }
  const rejected = await importRejects(db, spec, r);
  const expected = new Map<string, Expected>();
  const seen = new Set<string>();
  const refused = { cast: [] as Quarantined[], import: [] as Quarantined[] };
  const parents = await parentsOf(reader, spec, reread, opts.timeZone, lane);
  for (const row of reread) {
    const pk = pkText(keyOf(table, row));
    seen.add(pk);
    const rowSpec = specOf.get(pk) ?? spec;
    const cast = castRow(row, rowSpec.columns, { timeZone: opts.timeZone });
    const orphan = cast.ok ? orphanReason(rowSpec, row, parents) : undefined;
    const reason = cast.ok ? (orphan ?? rejected.get(pk)) : cast.reason;
    if (reason) {
      refused[cast.ok && !orphan ? "import" : "cast"].push({ pk, row: verbatim(row), reason });
      continue;
    }
    if (cast.ok) expected.set(pk, { canonical: canonicalOf(rowSpec, cast.values, cast.flags), values: cast.values });
  }
  c.quarantined = refused.cast.length + refused.import.length;
  await quarantine(db, runId, spec.table, r.range_no, refused.cast, "cast");
  await quarantine(db, runId, spec.table, r.range_no, refused.import, "import");
  c.refused = [...refused.cast.map((q) => q.pk), ...refused.import.map((q) => q.pk)];
  for (const pk of r.pks)
    if (!seen.has(pk)) differences.push({ pk, columns: [], reason: "row no longer in the source" });
  const landed = new Map<string, Canonical>();
  for (const rowSpec of new Set([spec, ...specOf.values()])) {
    const part = new Map([...expected].filter(([pk]) => (specOf.get(pk) ?? spec) === rowSpec));
    for (const [pk, l] of await landedRows(db, reader, rowSpec, part)) landed.set(pk, l);
  }
  const src = createHash("sha256");
  const dst = createHash("sha256");
  for (const [pk, { canonical: want }] of expected) {
    const got = landed.get(pk);
    src.update(canonicalText(want) + "\n");
    if (got) {
      c.loaded++;
      dst.update(canonicalText(got) + "\n");
    }
  }
  const listed = new Set([...r.pks, ...replayed]);
  const kept = [...listed].filter((pk) => !rejected.has(pk));
  if (
    src.digest("hex") !== dst.digest("hex") ||
    kept.length !== expected.size ||
    kept.some((pk) => !expected.has(pk))
  ) {
    // Drill down: which rows, which columns.
    for (const [pk, { canonical: want }] of expected) {
      const got = landed.get(pk);
      if (!got) {
        differences.push({ pk, columns: [], reason: "not landed" });
        continue;
      }
      const cols = [...new Set([...Object.keys(want), ...Object.keys(got)])]
        .filter((k) => JSON.stringify(want[k] ?? null) !== JSON.stringify(got[k] ?? null))
        .sort();
      if (cols.length) differences.push({ pk, columns: cols, reason: "landed values differ from the source" });
    }
    const named = new Set(differences.map((d) => d.pk));
    for (const pk of expected.keys())
      if (!listed.has(pk) && !named.has(pk))
        differences.push({ pk, columns: [], reason: "row added to the source after the run" });
  }
  c.differences = differences.slice(0, MAX_DIFFERENCES);
  return c;
}

/** Differences a manifest lists per table (and a range keeps). */
const MAX_DIFFERENCES = 100;

/**
 * Sums a reconciliation's range checks per table into the run's manifest (stored on the run) and
 * closes the quarantine of rows the source no longer refuses. Every range of the run must have been
 * checked by this reconciliation. A CSV file whose sha256 changed since the run is a difference of its table,
 * and so is a table whose schema changed since the run began (its ranges were read with the run's catalogue:
 * a column added since is in no range). The source's catalogue is read here once, not per range.
 */
export async function sumChecks(
  db: Queryable,
  reader: LegacyReader,
  runId: string,
  checkId: string,
): Promise<Manifest> {
  const run = await getRun(db, runId);
  const current = await reader.tables();
  const planned = await runCatalogue(db, reader, run, current);
  const changes = catalogueChanges(planned, current);
  const { rows: ranges } = await db.query<Omit<RangeCheck, "table"> & { table_name: string; check_id: string | null }>(
    `SELECT r.table_name, r.range_no, c.check_id, c.source_rows, c.loaded, c.quarantined, c.dropped, c.differences, c.refused
       FROM migration_ranges r LEFT JOIN migration_range_checks c USING (run_id, table_name, range_no)
      WHERE r.run_id = $1 ORDER BY r.table_name, r.range_no`,
    [runId],
  );
  const unchecked = ranges.filter((r) => r.check_id !== checkId);
  if (unchecked.length)
    throw new Error(
      `reconciliation ${checkId} of run ${runId} did not check ${unchecked.length} range(s) (first: ` +
        `${unchecked[0]!.table_name} range ${unchecked[0]!.range_no}${unchecked[0]!.check_id ? ", checked by another reconciliation" : ""})`,
    );
  const fingerprint = await reader.fingerprint();
  const out: TableManifest[] = [];
  for (const spec of planned.specs) {
    const m: TableManifest = {
      table: spec.table,
      target: spec.target,
      source_rows: 0,
      loaded: 0,
      quarantined: 0,
      dropped: 0,
      balanced: false,
      checksums_match: true,
    };
    const differences: Difference[] = [];
    const file = `${spec.table}.csv`;
    const was = run.options.fingerprint?.[file];
    if (was && fingerprint[file] !== was)
      differences.push({
        pk: "*",
        columns: [],
        reason: `${file} changed since the run (sha256 ${was.slice(0, 12)}… → ${fingerprint[file]?.slice(0, 12)}…)`,
      });
    // Its ranges were read as planned; what the source's schema has since (a column added …) is not in them.
    for (const t of tablesOf(spec)) {
      const change = changes.get(t);
      if (change)
        differences.push({
          pk: "*",
          columns: t === spec.table ? change.columns : [],
          reason: `${t} changed since the run began: ${change.lines.join(", ")}`,
        });
    }
    const stillRefused: string[] = [];
    for (const r of ranges.filter((x) => x.table_name === spec.table)) {
      m.source_rows += r.source_rows;
      m.loaded += r.loaded;
      m.quarantined += r.quarantined;
      m.dropped += r.dropped;
      differences.push(...r.differences);
      stillRefused.push(...r.refused);
    }
    // The quarantine holds what the source still refuses: rows landed since (a replay) are resolved.
    await db.query(
      `UPDATE migration_quarantine SET resolved_at = now()
        WHERE run_id = $1 AND table_name = $2 AND resolved_at IS NULL AND NOT (pk = ANY($3))`,
      [runId, spec.table, stillRefused],
    );
    m.balanced = m.source_rows === m.loaded + m.quarantined + m.dropped;
    if (differences.length) {
      m.checksums_match = false;
      m.differences = differences.slice(0, MAX_DIFFERENCES);
    }
    out.push(m);
  }
  const status = out.every((t) => t.balanced && t.checksums_match) ? "COMPLETE" : "UNBALANCED";
  const manifest: Manifest = {
    run_id: runId,
    status,
    source: run.source,
    checked_at: new Date().toISOString(),
    tables: out,
  };
  await db.query("UPDATE migration_runs SET status = $2, manifest = $3, finished_at = now() WHERE run_id = $1", [
    runId,
    status,
    JSON.stringify(manifest),
  ]);
  return manifest;
}

/**
 * Reads every range of a run again from the source and compares it with what landed (the manifest):
 * per table the counts must balance (source rows = loaded + quarantined + dropped) and each range's
 * checksum of canonical values must match on both sides; a range that does not is drilled down to its
 * rows. The ranges are checked on the reader's lanes at once (the same checks as the state machine's
 * items, stored per range), then summed.
 */
export async function reconcile(db: Queryable, reader: LegacyReader, runId: string): Promise<Manifest> {
  const run = await getRun(db, runId);
  if (run.source !== reader.label) throw new Error(`run ${run.run_id} migrated ${run.source}, not ${reader.label}`);
  const { check_id, items } = await planChecks(db, runId);
  const catalogue = await runCatalogue(db, reader, run);
  const queue = [...items];
  let failed = false;
  const settled = await Promise.allSettled(
    Array.from({ length: Math.max(1, reader.lanes) }, async (_v, lane) => {
      while (!failed) {
        const item = queue.shift();
        if (!item) return;
        await checkRanges(db, reader, run, check_id, [item], lane, catalogue).catch((err: unknown) => {
          failed = true;
          throw err;
        });
      }
    }),
  );
  const error = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (error) throw error.reason;
  return sumChecks(db, reader, runId, check_id);
}

/** The printed shape: {run_id, status, tables: [{table, source_rows, loaded, quarantined, dropped, checksums_match}]}. */
export function summary(m: Manifest) {
  return {
    run_id: m.run_id,
    status: m.status,
    tables: m.tables.map((t) => ({
      table: t.table,
      source_rows: t.source_rows,
      loaded: t.loaded,
      quarantined: t.quarantined,
      dropped: t.dropped,
      checksums_match: t.checksums_match,
      ...(t.differences ? { differences: t.differences } : {}),
    })),
  };
}
