import { Readable } from "node:stream";
import {
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { ObjectStore } from "../ports";
import { FileRejectedError } from "../errors";
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

function changed(bucket: string, key: string, expected: string, served?: string): FileRejectedError {
  return new FileRejectedError(
    `s3://${bucket}/${key} was replaced while it was being imported (ETag ${served ?? "now different"}, this import is of ${expected}); ` +
      "the new content arrives as an import of its own",
  );
}

export function s3Store(client: S3Client, policy: RetryPolicy = NETWORK_RETRY): ObjectStore {
  return {
    head: (bucket, key) =>
      withRetry(async () => {
        const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: r.ContentLength ?? 0, etag: r.ETag?.replaceAll('"', ""), metadata: r.Metadata ?? {} };
      }, policy),
    read: (bucket, key, range, options) =>
      withRetry(async () => {
        const expected = options?.ifMatch?.replaceAll('"', "");
        let r: GetObjectCommandOutput;
        try {
          r = await client.send(
            new GetObjectCommand({
              Bucket: bucket,
              Key: key,
              ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
              ...(expected ? { IfMatch: `"${expected}"` } : {}),
            }),
          );
        } catch (err) {
          if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412)
            throw changed(bucket, key, expected!);
          throw err;
        }
        // Not every S3-compatible endpoint honours If-Match: the version served says it too.
        const served = r.ETag?.replaceAll('"', "");
        if (expected && served && served !== expected) {
          (r.Body as Readable).destroy();
          throw changed(bucket, key, expected, served);
        }
        return r.Body as Readable;
      }, policy),
    write: (bucket, key, body, contentType) => {
      if (body instanceof Readable) {
        // A stream is read once, so it cannot be retried here: a multipart upload of bounded parts.
        return new Upload({ client, params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType } })
          .done()
          .then(() => undefined);
      }
      return withRetry(async () => {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
      }, policy);
    },
  };
}
