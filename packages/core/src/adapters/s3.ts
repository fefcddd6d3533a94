import { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { ObjectStore } from "../ports";
import { NETWORK_RETRY, withRetry, type RetryPolicy } from "./retry";

/**
 * `maxAttempts` 1 (the default) for clients behind s3Store, whose calls p-retry retries; a client
 * used directly (the local runtime's uploads, tests) keeps the SDK's own retries.
 */
export function createS3Client(endpoint?: string, region = "us-east-1", maxAttempts = 1): S3Client {
  return new S3Client({
    region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Flexible checksums would frame streamed bodies in aws-chunked encoding, which
    // S3-compatible endpoints (s3rver) store verbatim; AWS accepts either.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts,
  });
}

export function s3Store(client: S3Client, policy: RetryPolicy = NETWORK_RETRY): ObjectStore {
  return {
    head: (bucket, key) => withRetry(async () => {
      const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: r.ContentLength ?? 0, etag: r.ETag?.replaceAll('"', ""), metadata: r.Metadata ?? {} };
    }, policy),
    read: (bucket, key, range) => withRetry(async () => {
      const r = await client.send(new GetObjectCommand({
        Bucket: bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }));
      return r.Body as Readable;
    }, policy),
    write: (bucket, key, body, contentType) => {
      if (body instanceof Readable) {
        // A stream is read once, so it cannot be retried here: a multipart upload of bounded parts.
        return new Upload({ client, params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType } }).done().then(() => undefined);
      }
      return withRetry(async () => {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
      }, policy);
    },
  };
}
