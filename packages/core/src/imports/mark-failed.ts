import type { Deps } from "../ports";
import { getImport } from "./repo";

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
 * The Catch path: the import ends FAILED with the step and the reason, and the on-call engineer
 * gets an alert naming the file, the step, the error and the replay command.
 */
export async function markFailed(deps: Deps, importId: string, error: StepError | undefined): Promise<{ importId: string; error: StepError }> {
  const { pool, notifier } = deps;
  const reason = errorMessage(error);
  const kind = error?.Error ?? "Error";
  await pool.query(
    `UPDATE imports SET status = 'FAILED', status_reason = $2, failed_step = current_step, current_step = NULL, finished_at = now()
      WHERE id = $1 AND status NOT IN ('COMPLETE', 'COMPLETE_WITH_ERRORS', 'DUPLICATE')`,
    [importId, `${kind}: ${reason}`]);
  const imp = await getImport(pool, importId);
  const subject = `leadpipe import FAILED: ${imp.file_name}`.slice(0, 99);
  const message = [
    `Import ${imp.id} FAILED.`,
    `File: s3://${imp.bucket}/${imp.object_key}`,
    `Source: ${imp.source ?? "unknown"}${imp.partner ? ` (partner ${imp.partner})` : ""}`,
    `Step: ${imp.failed_step ?? "unknown"}`,
    `Error: ${kind}: ${reason}`,
    `Replay: npx leadpipe replay ${imp.id} --mode full`,
  ].join("\n");
  await notifier.alert(subject, message);
  deps.log.error("import failed", { importId, step: imp.failed_step, error: `${kind}: ${reason}` });
  return { importId, error: { Error: kind, Cause: reason } };
}
