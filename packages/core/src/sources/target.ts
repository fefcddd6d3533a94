import type { PoolClient } from "../db";
import type { Target, TargetReject } from "./spec";

/**
 * The one way to build a promotion target. A kind of data is promoted by a PL/pgSQL function
 * `fn(import_id, chunk_index)` returning (inserted, updated); its rules may refuse staged rows:
 * - refused `before` promotion: the refused rows are removed from staging first, so promotion
 *   never sees them (a rule the promotion function does not know);
 * - refused `after` promotion: the promotion function itself skipped them, and the rule only
 *   lists them with their reason.
 * Each kind's target lives beside its sources (sources/<kind>.ts).
 */

/** A rule query's row: the staged row it refuses and why. */
export interface RefusedRow {
  source_row: number | string;
  field: string;
  value: string | null;
  reason: string;
}

/** Lists the chunk's staged rows a rule refuses. */
export type Rule = (client: PoolClient, importId: string, chunkIndex: number) => Promise<TargetReject[]>;

export interface TargetOptions extends Partial<Pick<Target, "key" | "insertsByKey" | "complete" | "views">> {
  kind: string;
  /** Default: staging_<kind>. */
  stagingTable?: string;
  columns: readonly string[];
  /** The promotion function: fn(import_id, chunk_index) returns (inserted, updated). */
  promoteFn: string;
  /** A statement run first in the chunk's transaction (e.g. an advisory lock). */
  lock?: string;
  refuse?: { when: "before" | "after"; rule: Rule };
}

const asReject = (r: RefusedRow): TargetReject => ({
  sourceRow: Number(r.source_row),
  field: r.field,
  value: r.value,
  reason: r.reason,
});

/** A rule that is one SQL statement over ($1 import id, $2 chunk index) returning (source_row, field, value, reason). */
export function sqlRule(sql: string): Rule {
  return async (client, importId, chunkIndex) =>
    (await client.query<RefusedRow>(sql, [importId, chunkIndex])).rows.map(asReject);
}

/** A rule that is one SQL statement over ($1 import id, $2 chunk index), its rows turned into rejects by `toReject`. */
export function queryRule<R extends { source_row: number | string }>(
  sql: string,
  toReject: (row: R) => Omit<TargetReject, "sourceRow">,
): Rule {
  return async (client, importId, chunkIndex) =>
    (await client.query<R>(sql, [importId, chunkIndex])).rows.map((r) => ({
      sourceRow: Number(r.source_row),
      ...toReject(r),
    }));
}

/**
 * Runs the rules over this chunk's staged rows, removes the rows they refuse from staging (so
 * promotion never sees them) and returns them as rejects.
 */
export async function refuseStaged(
  client: PoolClient,
  stagingTable: string,
  importId: string,
  chunkIndex: number,
  rules: readonly Rule[],
): Promise<TargetReject[]> {
  const rejects: TargetReject[] = [];
  for (const rule of rules) rejects.push(...(await rule(client, importId, chunkIndex)));
  if (rejects.length > 0) {
    await client.query(
      `DELETE FROM ${stagingTable} WHERE import_id = $1 AND chunk_index = $2 AND source_row = ANY($3::bigint[])`,
      [importId, chunkIndex, [...new Set(rejects.map((r) => r.sourceRow))]],
    );
  }
  return rejects;
}

/** Calls a promotion function fn(import_id, chunk_index, ...extra) and returns its (inserted, updated). */
export async function promoteWith(
  client: PoolClient,
  fn: string,
  importId: string,
  chunkIndex: number,
  ...extra: unknown[]
): Promise<{ inserted: number; updated: number }> {
  const args = [importId, chunkIndex, ...extra];
  const placeholders = args.map((_a, i) => `$${i + 1}`).join(", ");
  const { rows } = await client.query<{ inserted: number; updated: number }>(
    `SELECT * FROM ${fn}(${placeholders})`,
    args,
  );
  return { inserted: rows[0]!.inserted, updated: rows[0]!.updated };
}

export function promotionTarget(opts: TargetOptions): Target {
  const { promoteFn, lock, refuse, stagingTable = `staging_${opts.kind}`, ...rest } = opts;
  return {
    ...rest,
    stagingTable,
    views: opts.views ?? [],
    async promote(client, importId, chunkIndex) {
      if (lock) await client.query(lock);
      const before =
        refuse?.when === "before" ? await refuseStaged(client, stagingTable, importId, chunkIndex, [refuse.rule]) : [];
      const { inserted, updated } = await promoteWith(client, promoteFn, importId, chunkIndex);
      const after = refuse?.when === "after" ? await refuse.rule(client, importId, chunkIndex) : [];
      return { rejects: [...before, ...after], inserted, updated };
    },
  };
}
