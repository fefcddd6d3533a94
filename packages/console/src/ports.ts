import type { Import, Logger, ObjectStore, Pool, Pullers, Settings } from "@leadpipe/core";
import type { IdentityProvider } from "./auth/identity";

/**
 * What the console needs from the platform it runs on (the local platform, or the stage's Lambda):
 * a database pool for its own tables and the pages' fixed queries, the read-only role's connection
 * for the SQL window and the reports, the object store for downloads and audiences, and three actions
 * that go through the same paths as the CLI (upload into the inbox, replay, the alerts sent).
 */
export interface ConsoleDeps {
  /** leadpipe_console (migration 191): the pages' fixed reads, logins, sessions and the audit log; no canonical writes. */
  pool: Pool;
  /**
   * leadpipe_pipeline: only for the actions that change canonical data through the pipeline's use cases (a
   * steward's merge, unmerge or override, a marketer's publish), as the CLI runs them.
   */
  writer: Pool;
  /** leadpipe_readonly's connection string: ad-hoc SQL and reports run only through it. */
  readonlyUrl: string;
  store: ObjectStore;
  /** Only the bucket: the console runs no ingest. */
  settings: Pick<Settings, "bucket">;
  log: Logger;
  /** Puts a local file into the landing bucket's inbox (as `leadpipe ingest` does); the import starts from its event. */
  upload(file: string, uploadedBy: string): Promise<{ key: string }>;
  /** Replays an import (functions/replay), optionally with a corrected file already in the bucket. */
  replay(req: {
    importId: string;
    mode: Import.ReplayMode;
    requestedBy: string;
    fixedFile?: string;
  }): Promise<Import.ReplayResult>;
  /** Runs the daily lead hand-off now (the schedule's function); absent where it cannot run on demand. */
  handoff?(): Promise<unknown>;
  /** The alerts sent, newest first. */
  alerts(limit: number): Promise<{ time: string; subject?: string; message: string }[]>;
  /** The stage's partner pullers (their schedules and `expected_by`); absent or empty: none declared. */
  pullers?: readonly Pullers.PullerSpec[];
  /** Runs one puller now and returns its results (after a forced re-pull; local runtime). */
  pullNow?(puller: string): Promise<Pullers.PullResult[]>;
  /**
   * Starts one puller's run without waiting for it (AWS: an asynchronous invoke of the puller's function); used
   * where `pullNow` is absent. Absent too: the forced file lands at the puller's next scheduled run.
   */
  startPull?(puller: string): Promise<void>;
  /** A folder for uploads on their way into the bucket. */
  uploadDir: string;
  /** Who checks logins and bearer tokens (AWS: the stage's Cognito user pool); absent, the console's own scrypt logins. */
  identity?: IdentityProvider;
}

export interface ConsoleOptions {
  /** How long a session lasts (default 8 h). */
  sessionTtlMs?: number;
  /** Failed logins per username and address within `failureWindowMs` before logins are refused (default 5 in 15 min). */
  maxFailures?: number;
  failureWindowMs?: number;
  /** Marks cookies Secure (behind HTTPS: AWS). */
  secureCookies?: boolean;
  /** The SQL window: statement timeout (default 15 s) and rows shown (default 1,000). */
  sqlTimeoutMs?: number;
  sqlRowCap?: number;
  /** Rows a CSV export streams at most (default 1,000,000). */
  csvRowLimit?: number;
  /** Largest upload accepted (default 512 MB). */
  maxUploadBytes?: number;
}

export type ResolvedOptions = Required<ConsoleOptions>;

export function resolveOptions(o: ConsoleOptions = {}): ResolvedOptions {
  return {
    sessionTtlMs: o.sessionTtlMs ?? 8 * 3600_000,
    maxFailures: o.maxFailures ?? 5,
    failureWindowMs: o.failureWindowMs ?? 15 * 60_000,
    secureCookies: o.secureCookies ?? false,
    sqlTimeoutMs: o.sqlTimeoutMs ?? 15_000,
    sqlRowCap: o.sqlRowCap ?? 1000,
    csvRowLimit: o.csvRowLimit ?? 1_000_000,
    maxUploadBytes: o.maxUploadBytes ?? 512 * 1024 * 1024,
  };
}
