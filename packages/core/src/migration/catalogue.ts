import type { Queryable } from "../db";
import { asRetryable } from "../errors";
import { tableSpecs, type TableSpec } from "./mapping";
import type { LegacyReader, LegacyTable } from "./readers";
import type { RunRow } from "./run";

/**
 * The source's catalogue a migration run planned against (migration_runs.catalogue, migration 356):
 * every step builds the run's table specs from it, so the state machine's items (a range landed or
 * checked) never read the source's catalogue; the steps that do read it once (a phase planned, a
 * reconciliation summed) compare the two, and a change is refused or reported, naming it.
 */

/** What to do about a source changed under a run. */
const GO_ON = "put it back as it was and resume, or migrate it as a new run";

/**
 * The source's schema no longer is the one a run planned against (a column added, dropped or retyped,
 * a key or a foreign key changed, a table gone): the run cannot go on as planned.
 */
export class SourceChangedError extends Error {
  override readonly name = "SourceChangedError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The source's tables a run planned against, and the run's table specs made of them. */
export interface Catalogue {
  tables: LegacyTable[];
  specs: TableSpec[];
}

/**
 * A run's catalogue as it began (`migration_runs.catalogue`): what every step after the first builds
 * the run's specs from, so that an item (a range landed or checked) never reads the source's
 * catalogue. A run begun before it was kept keeps the source's as it is now (`current` when the caller read it already;
 * the first kept wins).
 */
export async function runCatalogue(
  db: Queryable,
  reader: LegacyReader,
  run: RunRow,
  current?: readonly LegacyTable[],
): Promise<Catalogue> {
  let tables = run.catalogue;
  if (!tables) {
    const {
      rows: [kept],
    } = await db.query<{ catalogue: LegacyTable[] }>(
      "UPDATE migration_runs SET catalogue = coalesce(catalogue, $2) WHERE run_id = $1 RETURNING catalogue",
      [run.run_id, JSON.stringify(current ?? (await reader.tables()))],
    );
    tables = kept!.catalogue;
  }
  return { tables, specs: tableSpecs(tables, run.options.mapping, run.options.only) };
}

/** The tables a spec's rows are read from or name (its parent, its references). */
export const tablesOf = (spec: TableSpec) => [
  ...new Set([spec.table, ...(spec.parent ? [spec.parent.table] : []), ...Object.values(spec.refs ?? {})]),
];

/** How one table of a run changed in the source: the columns concerned and a line per change. */
interface TableChange {
  columns: string[];
  lines: string[];
}

/** What changed in the source's catalogue (`current`) since the run planned against `planned`, per table it reads. */
export function catalogueChanges(planned: Catalogue, current: readonly LegacyTable[]): Map<string, TableChange> {
  const changes = new Map<string, TableChange>();
  for (const name of new Set(planned.specs.flatMap(tablesOf))) {
    const was = planned.tables.find((t) => t.name === name)!;
    const is = current.find((t) => t.name === name);
    if (!is) {
      changes.set(name, { columns: [], lines: ["no longer in the source"] });
      continue;
    }
    const c: TableChange = { columns: [], lines: [] };
    const note = (column: string | undefined, line: string) => {
      if (column !== undefined) c.columns.push(column);
      c.lines.push(line);
    };
    for (const col of was.columns) {
      const found = is.columns.find((x) => x.name === col.name);
      if (!found) note(col.name, `column ${col.name} dropped`);
      else if (found.declared !== col.declared || found.kind !== col.kind)
        note(col.name, `column ${col.name} ${col.declared} → ${found.declared}`);
    }
    for (const col of is.columns)
      if (!was.columns.some((x) => x.name === col.name)) note(col.name, `column ${col.name} added`);
    if (was.key.join() !== is.key.join()) note(undefined, `key (${was.key.join(", ")}) → (${is.key.join(", ")})`);
    const refs = (t: LegacyTable) => (t.references ?? []).map((r) => `${r.column} → ${r.table}.${r.to ?? "key"}`);
    const [before, after] = [refs(was), refs(is)];
    for (const r of before) if (!after.includes(r)) note(undefined, `foreign key ${r} dropped`);
    for (const r of after) if (!before.includes(r)) note(undefined, `foreign key ${r} added`);
    if (c.lines.length) changes.set(name, { columns: c.columns.sort(), lines: c.lines });
  }
  return changes;
}

/**
 * A run's catalogue, once the source's own (read now) is found unchanged for every table the run reads:
 * what a step that plans ranges (a phase of the state machine, a CLI run or resume) goes on with.
 * A changed source is refused, naming what changed.
 */
export async function unchangedCatalogue(db: Queryable, reader: LegacyReader, run: RunRow): Promise<Catalogue> {
  const current = await reader.tables();
  const planned = await runCatalogue(db, reader, run, current);
  const changes = catalogueChanges(planned, current);
  if (changes.size)
    throw new SourceChangedError(
      `the source changed since run ${run.run_id} began (${[...changes].map(([t, c]) => `${t}: ${c.lines.join(", ")}`).join("; ")}): ${GO_ON}`,
    );
  return planned;
}

/** Errors of a read that the source's schema changed under (a column or a table gone since the run began). */
const SCHEMA_ERRORS = new Set(["ER_BAD_FIELD_ERROR", "ER_NO_SUCH_TABLE"]);

/**
 * What an item's failure means: a schema changed under the run (a SourceChangedError naming the run), a
 * lost connection (retried), or anything else (fails the run).
 */
export function itemFailure(err: unknown, runId: string, during: string): unknown {
  if (SCHEMA_ERRORS.has((err as { code?: string })?.code ?? ""))
    return new SourceChangedError(
      `${during}: the source changed since run ${runId} began (${(err as Error).message}): ${GO_ON}`,
      { cause: err },
    );
  return asRetryable(err, during);
}
