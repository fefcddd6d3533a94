/**
 * Pullers' throughput and memory: one file of --mb megabytes (default 1024) pulled from loopback
 * OpenSSH (SFTP) and vsftpd (FTPS, explicit TLS) by our transports (bytes hashed with sha256 on
 * the way, then discarded), against OpenSSH's `sftp` and curl fetching the same file to /dev/null
 * in the same run. Prints one table row per transport: seconds, MB/s, ratio to the baseline, peak
 * RSS growth of this process while pulling.
 *
 *   npx tsx bench/pullers.ts [--mb 1024] [--runs 3]      (as root: it starts sshd and vsftpd)
 */
import { execFileSync } from "node:child_process";

import { openSync, writeSync, closeSync, chownSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { sftpTransport } from "../packages/core/src/adapters/sftp";
import { ftpsTransport } from "../packages/core/src/adapters/ftps";
import { hashingCounter } from "../packages/core/src/pullers/run";
import type { Transport } from "../packages/core/src/pullers/transport";
import { FTP_USER, SFTP_USER, startSshd, startVsftpd } from "../test/support/peers";
import { median } from "./stats";

const { values } = parseArgs({
  options: { mb: { type: "string", default: "1024" }, runs: { type: "string", default: "3" } },
});
const MB = Number(values.mb);
const RUNS = Number(values.runs);
if (!Number.isInteger(MB) || MB < 1 || !Number.isInteger(RUNS) || RUNS < 1)
  throw new Error("--mb and --runs must be positive whole numbers");
const bytes = MB * 1024 * 1024;

function writeFile(file: string): void {
  const fd = openSync(file, "w");
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < MB; i++) {
    block.fill(i % 251);
    writeSync(fd, block);
  }
  closeSync(fd);
}

async function ours(t: Transport): Promise<{ seconds: number; peakRssMb: number }> {
  const [entry] = (await t.list()).filter((e) => e.name === "big.bin");
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const started = process.hrtime.bigint();
  const counter = hashingCounter(entry!.size);
  await pipeline(await t.read(entry!), counter, new Writable({ highWaterMark: 1 << 20, write: (_c, _e, cb) => cb() }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  if (counter.bytes() !== bytes) throw new Error(`pulled ${counter.bytes()} bytes of ${bytes}`);
  return { seconds, peakRssMb: (peak - base) / 2 ** 20 };
}

function timed(cmd: string, args: string[], input?: string): number {
  const started = process.hrtime.bigint();
  execFileSync(cmd, args, { stdio: ["pipe", "ignore", "pipe"], input });
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const sshd = await startSshd();
const ftpd = await startVsftpd();
try {
  const sftpFile = path.join(sshd.dir, "big.bin");
  writeFile(sftpFile);
  chownSync(sftpFile, sshd.uid, sshd.gid);
  const ftpFile = path.join(ftpd.dir, "big.bin");
  writeFile(ftpFile);

  const sftp = sftpTransport({
    host: "127.0.0.1",
    port: sshd.port,
    username: SFTP_USER,
    privateKey: (await import("node:fs")).readFileSync(sshd.clientKeyFile),
    hostKey: sshd.hostKeyFingerprint,
    dir: sshd.dir,
  });
  const ftps = ftpsTransport({
    host: "127.0.0.1",
    port: ftpd.explicitPort,
    username: FTP_USER,
    password: ftpd.password,
    tls: "explicit",
    caFile: ftpd.caFile,
    dir: ftpd.dir,
  });
  const rows: string[] = [];
  const row = (what: string, ourS: number[], baseS: number[], peak: number[], baseline: string) => {
    const o = median(ourS);
    const b = median(baseS);
    rows.push(
      `| ${what} | ${MB} MB | ${o.toFixed(2)} s (${(MB / o).toFixed(0)} MB/s) | ${baseline}: ${b.toFixed(2)} s (${(MB / b).toFixed(0)} MB/s) | ${(b / o).toFixed(2)} | ${Math.max(...peak).toFixed(0)} MB |`,
    );
  };

  const sftpOurs: number[] = [],
    sftpBase: number[] = [],
    sftpPeak: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await ours(sftp);
    sftpOurs.push(r.seconds);
    sftpPeak.push(r.peakRssMb);
    sftpBase.push(
      timed(
        "sftp",
        [
          "-q",
          "-i",
          sshd.clientKeyFile,
          "-P",
          String(sshd.port),
          "-o",
          "StrictHostKeyChecking=no",
          "-o",
          "UserKnownHostsFile=/dev/null",
          "-b",
          "-",
          `${SFTP_USER}@127.0.0.1`,
        ],
        `get ${sftpFile} /dev/null\n`,
      ),
    );
  }
  await sftp.close();
  row("SFTP (ssh2, 16 × 252 kB reads in flight, TCP_NODELAY) + sha256", sftpOurs, sftpBase, sftpPeak, "OpenSSH sftp");

  const ftpsOurs: number[] = [],
    ftpsBase: number[] = [],
    ftpsPeak: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await ours(ftps);
    ftpsOurs.push(r.seconds);
    ftpsPeak.push(r.peakRssMb);
    ftpsBase.push(
      timed(
        "curl",
        [
          "-sS",
          "--ssl-reqd",
          "--cacert",
          ftpd.caFile,
          "-K",
          "-",
          "-o",
          "/dev/null",
          `ftp://127.0.0.1:${ftpd.explicitPort}/big.bin`,
        ],
        `user = "${FTP_USER}:${ftpd.password}"\n`,
      ),
    );
  }
  await ftps.close();
  row("FTPS explicit TLS (basic-ftp) + sha256", ftpsOurs, ftpsBase, ftpsPeak, "curl");

  console.log(
    `\nmedian of ${RUNS} runs, loopback, ${new Date().toISOString().slice(0, 10)}, node ${process.version}\n`,
  );
  console.log("| transport | file | leadpipe | baseline | ratio | peak RSS growth |\n|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
} finally {
  await ftpd.stop();
  await sshd.stop();
}
