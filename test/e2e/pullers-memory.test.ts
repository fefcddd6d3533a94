import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, closeSync, openSync, ftruncateSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SFTP_USER, startSshd, type Sshd } from "../support/peers";

/**
 * A large file is pulled with flat memory: the SFTP transport and `landOne` stream it (pipelined
 * reads, sha256 and byte count on the way) without holding it. Measured in a child process of its
 * own (test/support/pull-rss.ts) so that nothing else in the test's process moves its RSS. The
 * file is sparse (no disk used); its size is LEADPIPE_PULL_MEMORY_MB (default 1024: the issue's
 * 1 GB), and the RSS growth must stay under a bound that does not depend on it.
 */
const MB = Number(process.env.LEADPIPE_PULL_MEMORY_MB ?? 1024);
/** The bound on peak RSS growth while pulling, whatever the file size (measured: about 45 MB). */
const BOUND_MB = 96;
const run = promisify(execFile);
let sshd: Sshd;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

describe("SFTP pull memory", () => {
  it(`lands a ${MB} MB file with RSS growth under ${BOUND_MB} MB`, async () => {
    if (!Number.isInteger(MB) || MB < BOUND_MB * 2)
      throw new Error(`LEADPIPE_PULL_MEMORY_MB must be a whole number of at least ${BOUND_MB * 2} (got ${MB})`);
    const size = MB * 2 ** 20;
    const file = path.join(sshd.dir, "big.bin");
    const fd = openSync(file, "w");
    ftruncateSync(fd, size);
    closeSync(fd);
    chownSync(file, sshd.uid, sshd.gid);
    const args = {
      host: "127.0.0.1",
      port: sshd.port,
      username: SFTP_USER,
      keyFile: sshd.clientKeyFile,
      hostKey: sshd.hostKeyFingerprint,
      dir: sshd.dir,
      name: "big.bin",
    };
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", path.resolve(__dirname, "../support/pull-rss.ts"), JSON.stringify(args)],
      { cwd: path.resolve(__dirname, "../.."), maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout.trim().split("\n").at(-1)!) as {
      bytes: number;
      sha256: string;
      seconds: number;
      baseRssMb: number;
      peakRssMb: number;
    };
    const zeros = createHash("sha256");
    const block = Buffer.alloc(1 << 20);
    for (let i = 0; i < MB; i++) zeros.update(block);
    expect(r.bytes).toBe(size);
    expect(r.sha256).toBe(zeros.digest("hex"));
    const growth = r.peakRssMb - r.baseRssMb;
    console.log(
      `pulled ${MB} MB in ${r.seconds.toFixed(1)} s (${(MB / r.seconds).toFixed(0)} MB/s); RSS ${r.baseRssMb} → ${r.peakRssMb} MB`,
    );
    expect(growth).toBeLessThan(BOUND_MB);
  }, 120_000);
});
