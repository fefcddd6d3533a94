import { Readable } from "node:stream";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { ObjectStore } from "../ports";

export function createS3Client(endpoint?: string, region = "us-east-1"): S3Client {
  return new S3Client({
    region,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Flexible checksums would frame streamed bodies in aws-chunked encoding, which
    // S3-compatible endpoints (s3rver) store verbatim; AWS accepts either.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

export function s3Store(client: S3Client): ObjectStore {
  return {
    async head(bucket, key) {
      const r = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { size: r.ContentLength ?? 0, etag: r.ETag?.replaceAll('"', ""), metadata: r.Metadata ?? {} };
    },
    async read(bucket, key, range) {
      const r = await client.send(new GetObjectCommand({
        Bucket: bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }));
      return r.Body as Readable;
    },
    async write(bucket, key, body, contentType) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    },
  };
}
