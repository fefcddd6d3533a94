import path from "node:path";
import type { Queryable } from "../db";
import * as Sources from "../sources/index";

export interface LandedObject {
  bucket: string;
  key: string;
  size?: number;
  etag?: string;
  /** Identifies one notification: S3's sequencer, else eTag + event time. */
  eventKey: string;
  uploadedBy?: string;
  uploadedAt?: string;
}

/**
 * One import per landed object notification: a replayed event returns the same import.
 * The source is recognized here when it can be (an unknown source fails in Validate, with a reason).
 */
export async function register(
  db: Queryable,
  obj: LandedObject,
): Promise<{ importId: string; created: boolean; status: string }> {
  const spec = Sources.identify(obj.key);
  const inserted = await db.query<{ id: string; status: string }>(
    `INSERT INTO imports (bucket, object_key, event_key, file_name, source, partner, kind, schema_version, size_bytes, etag, uploaded_by, uploaded_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (bucket, object_key, event_key) DO NOTHING
     RETURNING id, status`,
    [
      obj.bucket,
      obj.key,
      obj.eventKey,
      path.posix.basename(obj.key),
      spec?.name ?? null,
      spec ? Sources.partnerOf(spec, obj.key) : null,
      spec?.target.kind ?? null,
      spec?.schemaVersion ?? null,
      obj.size ?? null,
      obj.etag ?? null,
      obj.uploadedBy ?? null,
      obj.uploadedAt ?? null,
    ],
  );
  if (inserted.rows[0]) return { importId: inserted.rows[0].id, created: true, status: inserted.rows[0].status };
  const existing = await db.query<{ id: string; status: string }>(
    "SELECT id, status FROM imports WHERE bucket = $1 AND object_key = $2 AND event_key = $3",
    [obj.bucket, obj.key, obj.eventKey],
  );
  return { importId: existing.rows[0]!.id, created: false, status: existing.rows[0]!.status };
}
