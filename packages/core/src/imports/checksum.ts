import { createHash } from "node:crypto";
import type { Deps } from "../ports";
import { asRetryable } from "../errors";
import { chunkTotals, getImport } from "./repo";
import * as Lifecycle from "./lifecycle";
import { writeReports } from "./reports";
import { RangePlanner, servedInPlace, type ChunkRef } from "./stage";
import * as Sources from "../sources/index";

/**
 * sha256 of the whole object, streamed. The same bytes from the same source already imported
 * (or being imported) make this import a DUPLICATE: recorded, nothing else changes.
 */
export async function checksum(deps: Deps, importId: string): Promise<{ importId: string; duplicate: boolean }> {
  const { pool, store } = deps;
  const imp = await getImport(pool, importId);
  await Lifecycle.stepStarted(pool, importId, "checksum");
  const hash = createHash("sha256");
  let size = 0;
  // A file Stage will hand out in byte ranges has them planned here, in the same pass over its bytes.
  const spec = Sources.get(imp.source ?? "");
  let planner =
    spec && imp.replay_mode !== "errors-only" && servedInPlace(spec.reader)
      ? new RangePlanner(spec.reader, deps.settings.chunkRows, imp.object_key)
      : undefined;
  try {
    // This import's version of the object (its ETag), as Stage and the chunks read it.
    for await (const part of await store.read(imp.bucket, imp.object_key, undefined, {
      ifMatch: imp.etag ?? undefined,
    })) {
      hash.update(part as Buffer);
      size += (part as Buffer).length;
      try {
        planner?.push(part as Buffer);
      } catch {
        // Not line-structured text: Stage reads the object itself and says why it is refused.
        planner = undefined;
      }
    }
  } catch (err) {
    throw asRetryable(err, "streaming the object for its checksum");
  }
  const sha256 = hash.digest("hex");
  let planned: ChunkRef[] | null = null;
  try {
    planned = planner?.end() ?? null;
  } catch {
    planned = null;
  }
  try {
    await pool.query("UPDATE imports SET sha256 = $2, size_bytes = $3, planned_chunks = $4 WHERE id = $1", [
      importId,
      sha256,
      size,
      planned && JSON.stringify(planned),
    ]);
  } catch (err) {
    if ((err as { code?: string }).code !== "23505") throw asRetryable(err, "recording the checksum");
    const { rows } = await pool.query<{ id: string; file_name: string; created_at: Date }>(
      `SELECT id, file_name, created_at FROM imports
        WHERE source = $1 AND sha256 = $2 AND status NOT IN ('FAILED', 'DUPLICATE') AND holds_content_slot AND id <> $3`,
      [imp.source, sha256, importId],
    );
    const original = rows[0];
    await Lifecycle.duplicate(pool, importId, {
      sha256,
      size,
      of: original?.id ?? null,
      reason: `the same content from ${imp.source} was already imported as ${original?.id} (${original?.file_name}); nothing changed`,
    });
    const duplicate = await getImport(pool, importId);
    const prefix = await writeReports(deps, duplicate, {
      status: "DUPLICATE",
      reason: duplicate.status_reason,
      totals: await chunkTotals(pool, importId),
    });
    await pool.query("UPDATE imports SET reports_prefix = $2 WHERE id = $1", [importId, prefix]);
    deps.log.info("duplicate file", { importId, duplicateOf: original?.id });
    return { importId, duplicate: true };
  }
  await Lifecycle.stepFinished(pool, importId, "checksum");
  return { importId, duplicate: false };
}
