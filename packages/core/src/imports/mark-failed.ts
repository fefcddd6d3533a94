import type { Deps } from "../ports";
import { asRetryable } from "../errors";
import { chunkTotals, getImport, TERMINAL } from "./repo";
import * as Lifecycle from "./lifecycle";
import { writeReports } from "./reports";
import { refreshImportsRejectedBy } from "./finalize";
import { replayCommand } from "./describe";

export interface StepError {
  Error?: string;
  Cause?: string;
}

/** Lambda failures reach Step Functions as a JSON Cause ({errorType, errorMessage, ...}); locally as the message. */
export function errorMessage(error: StepError | undefined): string {
  const cause = error?.Cause ?? "";
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    if (parsed && typeof parsed.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  return cause || error?.Error || "unknown error";
}

/**
 * The Catch path: the import ends FAILED with the step and the reason, its reports say how far it
 * got, and the on-call engineer gets an alert naming the file, the step, the error and the replay
 * command. Whether the alert went out is recorded on the import; an alert that cannot be sent
 * fails this step (retried by the ASL, then the execution fails, which the execution-failure
 * rule alerts on): never silent.
 */
export async function markFailed(
  deps: Deps,
  importId: string,
  error: StepError | undefined,
): Promise<{ importId: string; error: StepError }> {
  const { pool, notifier } = deps;
  const reason = errorMessage(error);
  const kind = error?.Error ?? "Error";
  const before = await getImport(pool, importId);
  let reportsNote: string | null = null;
  if (!TERMINAL.includes(before.status)) {
    await pool.query("UPDATE imports SET finished_at = now() WHERE id = $1", [importId]);
    let prefix: string | null = null;
    try {
      const imp = { ...(await getImport(pool, importId)), failed_step: before.current_step };
      prefix = await writeReports(deps, imp, {
        status: "FAILED",
        reason: `${kind}: ${reason}`,
        totals: await chunkTotals(pool, importId),
      });
    } catch (err) {
      reportsNote = `not written (${(err as Error).message})`;
      deps.log.error("reports of a failed import could not be written", { importId, err });
    }
    await Lifecycle.failed(pool, importId, { reason: `${kind}: ${reason}`, reportsPrefix: prefix });
    try {
      await refreshImportsRejectedBy(deps, importId);
    } catch (err) {
      deps.log.error("imports whose rows this one rejected could not be refreshed", { importId, err });
    }
  }
  const imp = await getImport(pool, importId);
  // The notifier makes it a subject SNS accepts (adapters/sns.ts alertSubject): a file name may be anything.
  const subject = `leadpipe import FAILED: ${imp.file_name}`;
  const message = [
    `Import ${imp.id} FAILED.`,
    `File: s3://${imp.bucket}/${imp.object_key}`,
    `Source: ${imp.source ?? "unknown"}${imp.partner ? ` (partner ${imp.partner})` : ""}`,
    `Step: ${imp.failed_step ?? "unknown"}`,
    `Error: ${kind}: ${reason}`,
    `Reports: ${imp.reports_prefix ? `s3://${imp.bucket}/${imp.reports_prefix}` : (reportsNote ?? "none")}`,
    `Replay: ${replayCommand(imp.id, "full")}`,
  ].join("\n");
  try {
    await notifier.alert(subject, message);
  } catch (err) {
    await Lifecycle.alerted(pool, importId, err as Error);
    deps.log.error("failure alert could not be sent", { importId, err });
    throw asRetryable(err, "publishing the failure alert");
  }
  await Lifecycle.alerted(pool, importId);
  deps.log.error("import failed", { importId, step: imp.failed_step, error: `${kind}: ${reason}` });
  return { importId, error: { Error: kind, Cause: reason } };
}
