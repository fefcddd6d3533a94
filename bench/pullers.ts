/**
 * Pullers' throughput and memory: one file of --mb megabytes (default 1024) pulled from loopback
 * OpenSSH (SFTP) and vsftpd (FTPS, explicit TLS) by our transports (bytes hashed with sha256 on
 * the way, then discarded), against OpenSSH's `sftp` and curl fetching the same file to /dev/null
 * in the same run, interleaved (the order rotating run by run). The ratio of record is against that
 * plain fetch; for context, each run also times curl piped into `openssl dgst -sha256` (the work
 * ours does: every byte hashed; OpenSSH's sftp cannot write into a pipe). Prints a row per run (seconds, ratios, the main thread's and the
 * process's CPU seconds, peak RSS growth) and a summary per transport: the medians, and the median
 * and range of the per-run ratios.
 *
 *   npx tsx bench/pullers.ts [--mb 1024] [--runs 3]      (as root: it starts sshd and vsftpd)
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chownSync, closeSync, openSync, readFileSync, writeSync } from "node:fs";
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

interface Measure {
  seconds: number;
  peakRssMb: number;
  /** CPU seconds of this process's main thread (the puller's serial path; the sha256 worker is another thread). */
  mainCpu: number;
  /** CPU seconds of the whole process (all threads). */
  cpu: number;
}

/** CPU seconds the main thread (task = pid) has used: utime + stime from /proc, in clock ticks of 1/100 s. */
function mainThreadCpu(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function ours(t: Transport): Promise<Measure> {
  const [entry] = (await t.list()).filter((e) => e.name === "big.bin");
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  const main0 = mainThreadCpu();
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  const counter = hashingCounter(entry!.size, t.hashOn);
  await pipeline(await t.read(entry!), counter, new Writable({ highWaterMark: 1 << 20, write: (_c, _e, cb) => cb() }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const mainCpu = mainThreadCpu() - main0;
  clearInterval(sampler);
  if (counter.bytes() !== bytes) throw new Error(`pulled ${counter.bytes()} bytes of ${bytes}`);
  return { seconds, peakRssMb: (peak - base) / 2 ** 20, mainCpu, cpu: (cpu.user + cpu.system) / 1e6 };
}

function finished(child: ChildProcess, what: string): Promise<void> {
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`${what} exited ${code}: ${err}`))));
  });
}

/**
 * A baseline client run to completion (asynchronously, so the RSS sampler and timers keep running),
 * its output discarded or, with `hashed`, piped into `openssl dgst -sha256`.
 */
async function timed(cmd: string, args: string[], input: string, hashed = false): Promise<number> {
  const started = process.hrtime.bigint();
  // A shell's pipe; OpenSSL's sha256 (SHA-NI, as ours), not coreutils' sha256sum (3× slower here).
  const [c, a] = hashed
    ? ["bash", ["-o", "pipefail", "-c", '"$0" "$@" | openssl dgst -sha256', cmd, ...args]]
    : [cmd, args];
  const child = spawn(c, a, { stdio: ["pipe", "ignore", "pipe"] });
  child.stdin!.end(input);
  await finished(child, cmd);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

interface Pair {
  transport: string;
  run: number;
  /** Who ran first this round (the order rotates). */
  first: string;
  ours: Measure;
  /** The baseline client, output discarded: the figure of record. */
  baseline: number;
  /** The same client piped into openssl's sha256 (context: the hashing ours also does); NaN where the client cannot write to a pipe. */
  hashed: number;
}

/**
 * Runs ours, the baseline and (where it can) the baseline piped into openssl's sha256 `runs` times, interleaved, the
 * order rotating run by run (a shared machine's load drifts: no side always gets the quieter moment).
 */
async function compare(
  transport: string,
  oursRun: () => Promise<Measure>,
  baseRun: (hashed: boolean) => Promise<number>,
  canPipe: boolean,
): Promise<Pair[]> {
  const pairs: Pair[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const r: Partial<Pair> = { transport, run, hashed: Number.NaN };
    const steps: [string, () => Promise<void>][] = [
      ["leadpipe", async () => void (r.ours = await oursRun())],
      ["baseline", async () => void (r.baseline = await baseRun(false))],
      ...(canPipe ? [["baseline | sha256", async () => void (r.hashed = await baseRun(true))] as const] : []),
    ] as [string, () => Promise<void>][];
    const shift = (run - 1) % steps.length;
    const order = [...steps.slice(shift), ...steps.slice(0, shift)];
    for (const [, step] of order) await step();
    const p = { ...r, first: order[0]![0] } as Pair;
    pairs.push(p);
    console.error(
      `${transport} run ${run}: leadpipe ${p.ours.seconds.toFixed(2)} s, baseline ${p.baseline.toFixed(2)} s (ratio ${(p.baseline / p.ours.seconds).toFixed(2)}), baseline | sha256 ${p.hashed.toFixed(2)} s (ratio ${(p.hashed / p.ours.seconds).toFixed(2)})`,
    );
  }
  return pairs;
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
    privateKey: readFileSync(sshd.clientKeyFile),
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
  const sftpArgs = [
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
  ];
  const curlArgs = [
    "-sS",
    "--ssl-reqd",
    "--cacert",
    ftpd.caFile,
    "-K",
    "-",
    `ftp://127.0.0.1:${ftpd.explicitPort}/big.bin`,
  ];
  const sftpPairs = await compare(
    "SFTP",
    () => ours(sftp),
    // OpenSSH's sftp seeks in what it writes (no pipe): no hashed column for it.
    () => timed("sftp", sftpArgs, `get ${sftpFile} /dev/null\n`),
    false,
  );
  await sftp.close();
  const ftpsPairs = await compare(
    "FTPS",
    () => ours(ftps),
    (hashed) =>
      timed("curl", [...curlArgs, "-o", hashed ? "-" : "/dev/null"], `user = "${FTP_USER}:${ftpd.password}"\n`, hashed),
    true,
  );
  await ftps.close();

  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(
    `\n${MB} MB, ${RUNS} interleaved runs each, loopback, ${new Date().toISOString().slice(0, 16)}Z, node ${process.version}, load average ${load}\n`,
  );
  console.log(
    "| transport | run | first | leadpipe | baseline | ratio | baseline \\| openssl sha256 | ratio to it | main-thread CPU | process CPU | peak RSS growth |",
  );
  console.log("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
  /** n/a where the baseline client could not be piped into a hash. */
  const na = (x: number, text: string) => (Number.isNaN(x) ? "n/a" : text);
  for (const p of [...sftpPairs, ...ftpsPairs]) {
    console.log(
      `| ${p.transport} | ${p.run} | ${p.first.replace("|", "\\|")} | ${p.ours.seconds.toFixed(2)} s | ${p.baseline.toFixed(2)} s | ${(p.baseline / p.ours.seconds).toFixed(2)} | ${na(p.hashed, `${p.hashed.toFixed(2)} s`)} | ${na(p.hashed, (p.hashed / p.ours.seconds).toFixed(2))} | ${p.ours.mainCpu.toFixed(2)} s | ${p.ours.cpu.toFixed(2)} s | ${p.ours.peakRssMb.toFixed(0)} MB |`,
    );
  }
  const summary = (what: string, baseline: string, pairs: Pair[]) => {
    const ratios = pairs.map((p) => p.baseline / p.ours.seconds);
    const hashedRatios = pairs.map((p) => p.hashed / p.ours.seconds);
    const o = median(pairs.map((p) => p.ours.seconds));
    const b = median(pairs.map((p) => p.baseline));
    const h = median(pairs.map((p) => p.hashed));
    const range = (r: number[]) => `${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}`;
    return `| ${what} | ${o.toFixed(2)} s (${(MB / o).toFixed(0)} MB/s) | ${baseline}: ${b.toFixed(2)} s (${(MB / b).toFixed(0)} MB/s) | **${median(ratios).toFixed(2)}** | ${range(ratios)} | ${na(h, `${h.toFixed(2)} s: ${median(hashedRatios).toFixed(2)} (${range(hashedRatios)})`)} | ${Math.max(...pairs.map((p) => p.ours.peakRssMb)).toFixed(0)} MB |`;
  };
  console.log(
    "\n| transport | leadpipe (median) | baseline (median) | ratio (median of runs) | ratio range | context: baseline \\| openssl sha256, ratio (range) | peak RSS growth |",
  );
  console.log("|---|---|---|---:|---|---|---:|");
  console.log(summary("SFTP (ssh2, 252 kB reads × 16 in flight) + sha256 on a worker", "OpenSSH sftp", sftpPairs));
  console.log(summary("FTPS explicit TLS (basic-ftp) + sha256 inline", "curl", ftpsPairs));
} finally {
  await ftpd.stop();
  await sshd.stop();
}
