/**
 * Child process of test/e2e/pullers-memory.test.ts: lands one remote file through the real
 * SFTP transport and `landOne` (hash and byte count on the way) into a store that discards the
 * bytes, sampling this process's RSS every 20 ms. Prints one JSON line:
 * {bytes, sha256, seconds, baseRssMb, peakRssMb}. Its arguments come as one JSON object in argv[2].
 */
import { readFileSync } from "node:fs";
import type { Readable } from "node:stream";
import { sftpTransport } from "../../packages/core/src/adapters/sftp";
import { landOne } from "../../packages/core/src/pullers/run";
import type { ObjectStore } from "../../packages/core/src/ports";

const a = JSON.parse(process.argv[2]!) as {
  host: string;
  port: number;
  username: string;
  keyFile: string;
  hostKey: string;
  dir: string;
  name: string;
};
const transport = sftpTransport({
  host: a.host,
  port: a.port,
  username: a.username,
  privateKey: readFileSync(a.keyFile),
  hostKey: a.hostKey,
  dir: a.dir,
});
const discard: ObjectStore = {
  async write(_bucket: string, _key: string, body: Readable | Buffer | string) {
    if (typeof body === "string" || Buffer.isBuffer(body)) return;
    for await (const _chunk of body) {
      // consumed and dropped, as a multipart upload drops each part once sent
    }
  },
} as unknown as ObjectStore;

const entry = (await transport.list()).find((e) => e.name === a.name);
if (!entry) throw new Error(`${a.name} is not listed in ${a.dir}`);
const mb = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
const base = process.memoryUsage().rss;
let peak = base;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 20);
const started = process.hrtime.bigint();
const landed = await landOne(transport, entry, discard, "bucket", "inbox/memory/big.bin");
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
await transport.close();
process.stdout.write(
  `${JSON.stringify({ bytes: landed.bytes, sha256: landed.sha256, seconds, baseRssMb: mb(base), peakRssMb: mb(peak) })}\n`,
);
