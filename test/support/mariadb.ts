import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import mysql from "mysql2/promise";

export interface RunningMariaDb {
  port: number;
  socket: string;
  /** A root connection over the socket (seeding, changing rows). */
  root(): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net
      .createServer()
      .listen(0, "127.0.0.1", () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      })
      .on("error", reject);
  });

/**
 * A MariaDB server of its own (Debian's mariadb-server): a data directory initialised under
 * `dir`, listening on a free 127.0.0.1 port and a socket in `dir`, stopped by its PID.
 * Throws at once with the reason when it cannot start.
 */
export async function startMariaDb(dir: string): Promise<RunningMariaDb> {
  const server = ["/usr/sbin/mariadbd", "/usr/sbin/mysqld"].find(existsSync);
  if (!server) throw new Error("MariaDB is not installed (apt-get install mariadb-server): no /usr/sbin/mariadbd");
  const data = path.join(dir, "data");
  mkdirSync(dir, { recursive: true });
  const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];
  const init = spawnSync(
    "mariadb-install-db",
    ["--no-defaults", `--datadir=${data}`, "--auth-root-authentication-method=normal", "--skip-test-db", ...asRoot],
    { encoding: "utf8" },
  );
  if (init.status !== 0)
    throw new Error(`mariadb-install-db failed: ${init.stderr || init.stdout || init.error?.message}`);
  const port = await freePort();
  const socket = path.join(dir, "mysqld.sock");
  const log = path.join(dir, "server.log");
  const child: ChildProcess = spawn(
    server,
    [
      "--no-defaults",
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      `--pid-file=${path.join(dir, "mysqld.pid")}`,
      "--skip-log-bin",
      "--innodb-buffer-pool-size=32M",
      `--log-error=${log}`,
      ...asRoot,
    ],
    { stdio: "ignore" },
  );
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  const root = () =>
    mysql.createConnection({ socketPath: socket, user: "root", multipleStatements: true, charset: "utf8mb4" });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited)
      throw new Error(
        `mariadbd exited at start: ${existsSync(log) ? readFileSync(log, "utf8").slice(-2000) : "(no log)"}`,
      );
    try {
      const c = await root();
      await c.end();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`mariadbd did not accept connections in 30 s: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    port,
    socket,
    root,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([done, new Promise((r) => setTimeout(r, 15_000))]);
      if (!exited) child.kill("SIGKILL");
    },
  };
}
