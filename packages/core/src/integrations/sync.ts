import type { Pool } from "../db";
import type { Logger } from "../log";
import type { Needs, ObjectStore } from "../ports";
import type { Integrations, System } from "./config";
import { LimitReachedError } from "./http";
import {
  type SyncCounts,
  type SyncResult,
  type SyncRunOptions,
  auditSyncRun,
  beginSyncRun,
  finishSyncRun,
  heartbeatSyncRun,
  zeroCounts,
} from "./runs";

/**
 * Where a system's refreshed credentials (OAuth tokens) are kept between runs: locally a 0600 file
 * under LEADPIPE_HOME, in AWS the system's Secrets Manager secret. A port, so core needs no AWS SDK.
 */
export interface CredentialStore {
  load(system: System): Promise<Record<string, unknown> | undefined>;
  save(system: System, value: Record<string, unknown>): Promise<void>;
}

/** What a system's sync gets for one run: the database, its run, the counts it keeps up to date. */
export interface SyncContext {
  pool: Pool;
  log: Logger;
  runId: string;
  full: boolean;
  dryRun: boolean;
  /** Mutated by the sync as it goes (requests included); saved on every heartbeat and at the end. */
  counts: SyncCounts;
  /** Saves the counts and proves the run alive: call it after each page or batch. */
  heartbeat(): Promise<void>;
  /**
   * Marks the run as stopped early at a limit (a time or daily budget) with everything done so far
   * stored: it ends `partial` with this reason, and the next run resumes the rest.
   */
  stop(reason: string): void;
  /** The platform's bucket, for a sync that lands what it read as an import (a file in the inbox). */
  objects?: { store: ObjectStore; bucket: string };
  /** Where refreshed tokens are stored back; without it they live for the run only. */
  credentials?: CredentialStore;
}

/** One system's sync, given its declared connection. */
export type SyncFn = (ctx: SyncContext, connections: Integrations) => Promise<void>;

/** What running a sync touches (the Needs shape) and where it lands objects and keeps tokens, when it does. */
export type RunSyncDeps = Needs<"pool" | "log"> &
  Partial<Needs<"notifier">> & {
    objects?: { store: ObjectStore; bucket: string };
    credentials?: CredentialStore;
  };

/**
 * Runs one sync as a recorded run: opens it (refused while another run of the system is live),
 * lets the system's sync work, closes it succeeded, partial (stopped at a limit: `ctx.stop` or a
 * LimitReachedError, the next run resumes) or failed. A failure is alerted like an import's
 * and thrown after the run is closed, so the run's row always says how it ended.
 */
export async function runSync(
  deps: RunSyncDeps,
  system: System,
  sync: SyncFn,
  connections: Integrations,
  o: SyncRunOptions,
): Promise<SyncResult> {
  const runId = await beginSyncRun(deps.pool, system, o);
  const log = deps.log.child({ system, runId });
  let stopped: string | undefined;
  const ctx: SyncContext = {
    pool: deps.pool,
    log,
    runId,
    full: o.full,
    dryRun: o.dryRun,
    counts: zeroCounts(),
    heartbeat: () => heartbeatSyncRun(deps.pool, runId, ctx.counts),
    stop: (reason) => {
      stopped = reason;
    },
    objects: deps.objects,
    credentials: deps.credentials,
  };
  try {
    await sync(ctx, connections);
  } catch (err) {
    // a limit met: not a failure, the next run goes on from what is stored
    if (err instanceof LimitReachedError) stopped = limitReason(err);
    else return failed(deps, system, runId, o, ctx, err as Error);
  }
  const result = await finishSyncRun(deps.pool, system, runId, ctx.counts, undefined, stopped);
  await auditSyncRun(deps.pool, system, runId, o, ctx.counts, undefined, stopped);
  if (stopped) log.warn("sync stopped early: the next run resumes", { reason: stopped, ...ctx.counts });
  else log.info("sync finished", { ...ctx.counts });
  return result;
}

function limitReason(err: LimitReachedError): string {
  return err.resumeAt === undefined
    ? err.message
    : `${err.message}; resumes after ${new Date(err.resumeAt).toISOString()}`;
}

/** A failed run: closed with its reason, audited, alerted like an import's, and thrown. */
async function failed(
  deps: RunSyncDeps,
  system: System,
  runId: string,
  o: SyncRunOptions,
  ctx: SyncContext,
  e: Error,
): Promise<never> {
  await finishSyncRun(deps.pool, system, runId, ctx.counts, e);
  await auditSyncRun(deps.pool, system, runId, o, ctx.counts, e);
  ctx.log.error("sync failed", { reason: e.message });
  await deps.notifier?.alert(
    `leadpipe ${system} sync FAILED`,
    `The ${system} sync run ${runId} failed: ${e.name}: ${e.message}\n` +
      `Counts so far: ${JSON.stringify(ctx.counts)}\nRe-run: npx leadpipe sync ${system}`,
  );
  throw e;
}
