import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The local S3 endpoint as the platform runs it (its own process), on a folder of its own.
let child: ChildProcess;
let s3: S3Client;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "leadpipe-s3-names-"));
  child = fork(
    path.resolve(__dirname, "../../packages/local/src/s3-endpoint.js"),
    [JSON.stringify({ port: 0, directory: path.join(dir, "s3"), bucket: "landing" })],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the local S3 endpoint exited (code ${code}) before it listened`)));
    child.on("message", (m: { port?: number }) => m.port && resolve(m.port));
  });
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}, 30_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.send("close");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A key of exactly `bytes` bytes of UTF-8 under inbox/, its file name made of multi-byte characters. */
function keyOf(bytes: number): string {
  const head = "inbox/partner-b-mortgages/2026/12/06/partner-b-mortgages-";
  const tail = ".csv";
  const room = bytes - Buffer.byteLength(head + tail);
  const name = "é".repeat(Math.floor(room / 2)) + "x".repeat(room % 2);
  return head + name + tail;
}

async function roundTrip(key: string): Promise<string> {
  await s3.send(
    new PutObjectCommand({ Bucket: "landing", Key: key, Body: `body of a ${Buffer.byteLength(key)}-byte key` }),
  );
  return (await s3.send(new GetObjectCommand({ Bucket: "landing", Key: key }))).Body!.transformToString();
}

describe("the local S3 endpoint stores every key S3 accepts", () => {
  it("stores and serves a file name of 254 bytes and a key of 1,024 bytes, then still serves the next key", async () => {
    const name254 = `inbox/partner-b-mortgages/${"n".repeat(250)}.csv`;
    expect(Buffer.byteLength(name254.split("/").pop()!)).toBe(254);
    expect(await roundTrip(name254)).toBe("body of a 280-byte key");
    const key1024 = keyOf(1024);
    expect(Buffer.byteLength(key1024)).toBe(1024);
    expect(await roundTrip(key1024)).toBe("body of a 1024-byte key");
    expect(await roundTrip("inbox/partner-b-mortgages/next.csv")).toBe("body of a 34-byte key");
    expect(child.exitCode).toBeNull();
  });

  it("lists the long keys by their own names, and deletes them", async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: "landing", Prefix: "inbox/partner-b-mortgages/" }));
    const keys = (listed.Contents ?? []).map((c) => c.Key!);
    expect(keys).toContain(keyOf(1024));
    expect(keys).toContain(`inbox/partner-b-mortgages/${"n".repeat(250)}.csv`);
    await s3.send(new DeleteObjectCommand({ Bucket: "landing", Key: keyOf(1024) }));
    const after = await s3.send(
      new ListObjectsV2Command({ Bucket: "landing", Prefix: "inbox/partner-b-mortgages/2026/" }),
    );
    expect(after.Contents ?? []).toEqual([]);
  });
});
