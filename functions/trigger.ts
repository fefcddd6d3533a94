import middy from "@middy/core";
import type { S3Event } from "aws-lambda";
import { Import } from "@leadpipe/core";
import { executionStarter, platform } from "./platform";

/** S3 keys arrive URL-encoded, spaces as '+'. */
export function decodeKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

/** S3 ObjectCreated → one import per notification → StartExecution named after the import. */
export const handler = middy(async (event: S3Event) => {
  const deps = await platform();
  const started: string[] = [];
  for (const record of event.Records ?? []) {
    if (!record.eventName?.startsWith("ObjectCreated:")) continue;
    const key = decodeKey(record.s3.object.key);
    if (!key.startsWith("inbox/")) continue;
    const { importId, status } = await Import.register(deps.pool, {
      bucket: record.s3.bucket.name,
      key,
      size: record.s3.object.size,
      etag: record.s3.object.eTag,
      eventKey: record.s3.object.sequencer ?? `${record.s3.object.eTag ?? ""}@${record.eventTime}`,
      uploadedBy: record.userIdentity?.principalId,
      uploadedAt: record.eventTime,
    });
    // A replayed event for an import already under way or done must not start it again.
    if (status === "PENDING") await executionStarter().start(importId, { importId });
    started.push(importId);
  }
  return { imports: started };
});
