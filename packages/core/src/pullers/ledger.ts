import type { Pool } from "../db";

/** One run of a puller, as `puller_runs` keeps it. */
export interface PullerRun {
  id: number;
  puller: string;
  trigger: string;
  started_at: Date;
  finished_at: Date | null;
  /** outcome -> number of files, e.g. {"landed": 2, "already-landed": 5} */
  outcomes: Record<string, number>;
  error: string | null;
}

/** One version of a remote file in the ledger. */
export interface LedgerFile {
  id: number;
  puller: string;
  path: string;
  size: number;
  modified_at: Date;
  state: string;
  reason: string | null;
  attempts: number;
  forced: boolean;
  first_seen_at: Date;
  last_seen_at: Date;
  object_key: string | null;
  sha256: string | null;
  import_id: string | null;
  landed_at: Date | null;
}

const RUN_COLUMNS = "id::int, puller, trigger, started_at, finished_at, outcomes, error";
const FILE_COLUMNS = `id::int, puller, path, size::float8 AS size, modified_at, state, reason, attempts, forced,
  first_seen_at, last_seen_at, object_key, sha256, import_id, landed_at`;

const limitOf = (n: number) => {
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new RangeError(`a limit is a whole number from 1 to 10000, got ${n}`);
  return n;
};

/** The most recent runs, newest first; of one puller when `puller` is given. */
export async function recentRuns(pool: Pool, opts: { limit: number; puller?: string }): Promise<PullerRun[]> {
  const { rows } = await pool.query<PullerRun>(
    `SELECT ${RUN_COLUMNS} FROM puller_runs WHERE ($2::text IS NULL OR puller = $2)
      ORDER BY started_at DESC, id DESC LIMIT $1`,
    [limitOf(opts.limit), opts.puller ?? null],
  );
  return rows;
}

/** Each puller's last run (the newest by start), by puller name. */
export async function lastRuns(pool: Pool): Promise<PullerRun[]> {
  const { rows } = await pool.query<PullerRun>(
    `SELECT DISTINCT ON (puller) ${RUN_COLUMNS} FROM puller_runs ORDER BY puller, started_at DESC, id DESC`,
  );
  return rows;
}

/** The ledger, the versions seen most recently first; of one puller and/or one state when given. */
export async function ledger(
  pool: Pool,
  opts: { limit: number; puller?: string; state?: string },
): Promise<LedgerFile[]> {
  const { rows } = await pool.query<LedgerFile>(
    `SELECT ${FILE_COLUMNS} FROM puller_files
      WHERE ($2::text IS NULL OR puller = $2) AND ($3::text IS NULL OR state = $3)
      ORDER BY last_seen_at DESC, id DESC LIMIT $1`,
    [limitOf(opts.limit), opts.puller ?? null, opts.state ?? null],
  );
  return rows;
}
