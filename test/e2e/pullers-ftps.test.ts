import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chownSync, existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { Pullers } from "@leadpipe/core";
import { runPuller } from "../../packages/local/src/pullers";
import { startVsftpd, type Vsftpd } from "../support/peers";
import {
  outcomes,
  peerFolder,
  putFile,
  silentLog,
  usePullerPeer,
  variant,
  type PullerPlatform,
} from "../support/pullers-platform";

let env: PullerPlatform;
let ftpd: Vsftpd;
let platform: PullerPlatform["platform"];
let deps: PullerPlatform["deps"];

usePullerPeer("leadpipe-pullers-ftps-", startVsftpd, (peer, started) => {
  ftpd = peer;
  env = started;
  ({ platform, deps } = env);
});

const pullOnce = (spec: Pullers.PullerSpec) => env.pullOnce(spec);

function puller(name: string, extra: Record<string, unknown> = {}): Pullers.PullerSpec {
  const dir = peerFolder(ftpd, name, statSync(ftpd.dir));
  return Pullers.PullerSpec.parse({
    name,
    transport: "ftps",
    host: "127.0.0.1",
    port: ftpd.explicitPort,
    tls: "explicit",
    username: "leadpipe-ftp",
    password: ftpd.password,
    ca_file: ftpd.caFile,
    dir,
    pattern: "*.csv",
    stable_seconds: 0,
    ...extra,
  });
}
const put = (spec: Pullers.PullerSpec, name: string, content: string, mtime?: Date) =>
  putFile(ftpd, spec, name, content, mtime);

describe("FTPS puller against vsftpd (TLS on both channels, require_ssl_reuse=YES)", () => {
  it.each([["explicit"], ["implicit"]] as const)(
    "lands every file once over %s TLS, and the pipeline imports it",
    async (tls) => {
      const spec = puller(`ftps-${tls}`, { tls, port: tls === "explicit" ? ftpd.explicitPort : ftpd.implicitPort });
      const tag = tls === "explicit" ? "40" : "41";
      const same = new Date("2026-12-01T06:00:00Z");
      put(spec, `partner-b-mortgages-2026-12-${tag}-a.csv`, variant(`${tag}1`), same);
      put(spec, `partner-b-mortgages-2026-12-${tag}-b.csv`, variant(`${tag}2`), same);
      const first = await pullOnce(spec);
      expect(outcomes(first)).toEqual([
        [`partner-b-mortgages-2026-12-${tag}-a.csv`, "landed"],
        [`partner-b-mortgages-2026-12-${tag}-b.csv`, "landed"],
      ]);
      for (const r of first) {
        const {
          rows: [imp],
        } = await platform.pool.query("SELECT status, sha256, size_bytes::int FROM imports WHERE id = $1", [
          r.import_id,
        ]);
        expect(imp).toMatchObject({ status: "COMPLETE_WITH_ERRORS", sha256: r.sha256, size_bytes: r.size });
      }
      // An older timestamp than everything landed, and a re-send under the same name.
      put(spec, `partner-b-mortgages-2026-12-${tag}-c.csv`, variant(`${tag}3`), new Date("2026-11-01T00:00:00Z"));
      put(spec, `partner-b-mortgages-2026-12-${tag}-a.csv`, variant(`${tag}4`), new Date("2026-12-01T07:00:00Z"));
      expect(outcomes(await pullOnce(spec))).toEqual([
        [`partner-b-mortgages-2026-12-${tag}-a.csv`, "landed"],
        [`partner-b-mortgages-2026-12-${tag}-b.csv`, "already-landed"],
        [`partner-b-mortgages-2026-12-${tag}-c.csv`, "landed"],
      ]);
      expect((await pullOnce(spec)).every((r) => r.outcome === "already-landed")).toBe(true);
    },
  );

  it("does not land a file that is growing, and lands it once it is stable", async () => {
    const spec = puller("ftps-growing", { stable_seconds: 2 });
    put(spec, "partner-b-mortgages-2026-12-42.csv", variant("421").slice(0, 200));
    const { openTransport } = await import("@leadpipe/core/adapters/pullers");
    const transport = await openTransport(spec);
    const growing = await Pullers.pull(
      spec,
      transport,
      {
        ...deps,
        log: silentLog,
        sourceOf: () => "partner-b-mortgages",
        sleep: async (ms) => {
          put(spec, "partner-b-mortgages-2026-12-42.csv", variant("421").slice(0, 500));
          await new Promise((r) => setTimeout(r, ms));
        },
      },
      { trigger: "cli" },
    ).finally(() => transport.close());
    expect(growing.map((r) => [r.outcome, r.size])).toEqual([["unstable", 500]]);
    put(spec, "partner-b-mortgages-2026-12-42.csv", variant("421"));
    expect((await pullOnce(spec)).map((r) => r.outcome)).toEqual(["landed"]);
  });

  it("refuses a certificate the CA file does not vouch for: lands nothing and alerts with the reason", async () => {
    const spec = puller("ftps-untrusted", { ca_file: ftpd.otherCaFile });
    put(spec, "partner-b-mortgages-2026-12-43.csv", variant("431"));
    const before = platform.alerts.length;
    const results = await pullOnce(spec);
    expect(results.map((r) => r.outcome)).toEqual(["failed"]);
    expect(results[0]!.reason).toMatch(
      /TrustRefusedError: the TLS certificate of 127\.0\.0\.1:\d+ is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
    );
    expect(platform.alerts.slice(before).map((a) => a.subject)).toEqual(["leadpipe puller ftps-untrusted FAILED"]);
    const { rows } = await platform.pool.query(
      "SELECT count(*)::int AS n FROM puller_files WHERE puller = 'ftps-untrusted'",
    );
    expect(rows[0]!.n).toBe(0);
  });

  it("moves the landed file to the archive folder", async () => {
    const spec = puller("ftps-moved", { after: "move:archive" });
    const archive = path.join(ftpd.dir, "ftps-moved", "archive");
    mkdirSync(archive);
    const st = statSync(ftpd.dir);
    chownSync(archive, st.uid, st.gid);
    put(spec, "partner-b-mortgages-2026-12-44.csv", variant("441"));
    expect((await pullOnce(spec)).map((r) => r.outcome)).toEqual(["landed"]);
    expect(existsSync(path.join(archive, "partner-b-mortgages-2026-12-44.csv"))).toBe(true);
  });

  it("leaves nothing half-landed when the server's session dies mid-transfer, and the next run lands the file", async () => {
    // A rate-limited instance (256 kB/s) so that the transfer is surely under way when its session is killed.
    const slow = await ftpd.startInstance(["local_max_rate=262144"]);
    const spec = puller("ftps-killed", { port: slow.port, attempts: 1 });
    const name = "partner-b-mortgages-2026-12-45.csv";
    const content = variant("451") + `# ${"padding ".repeat(16)}\n`.repeat(12_000);
    put(spec, name, content);
    const before = platform.alerts.length;
    const run = runPuller(spec, deps, "cli");
    // Once the version is claimed (streaming has begun) and a moment passed, the sessions of the slow
    // instance (the children of the vsftpd this test started) are killed.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { rows } = await platform.pool.query("SELECT attempts FROM puller_files WHERE puller = 'ftps-killed'");
      if (rows[0]?.attempts === 1) break;
      if (Date.now() > deadline) throw new Error("the pull did not start streaming within 30 s");
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 700));
    const sessions = descendants(slow.pid);
    expect(sessions.length).toBeGreaterThan(0);
    for (const pid of sessions) {
      // Killing a session's parent can end its child before our kill reaches it.
      try {
        process.kill(pid, "SIGKILL");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
      }
    }
    const cut = await run;
    expect(cut.map((r) => r.outcome)).toEqual(["failed"]);
    const key = Pullers.landingKey("partner-b-mortgages", name, new Date());
    expect(await objectExists(key)).toBe(false);
    const {
      rows: [ledger],
    } = await platform.pool.query("SELECT state, reason, object_key FROM puller_files WHERE puller = 'ftps-killed'");
    expect(ledger).toMatchObject({ state: "failed", object_key: null });
    expect(ledger.reason).toBe(cut[0]!.reason);
    expect(ledger.reason).toMatch(/\w+: .+/);
    const alerts = platform.alerts.slice(before);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.subject).toMatch(/^leadpipe puller ftps-killed: /);
    expect(alerts[0]!.message).toContain(ledger.reason);

    // The next run (the ordinary instance, the same folder and ledger) lands it whole.
    const again = await pullOnce(Pullers.PullerSpec.parse({ ...spec, port: ftpd.explicitPort }));
    expect(again.map((r) => [r.outcome, r.key])).toEqual([["landed", key]]);
    expect(again[0]!.sha256).toBe(createHash("sha256").update(content).digest("hex"));
    expect(await objectExists(key)).toBe(true);
  }, 90_000);
});

/** Every process under `pid` (a vsftpd listener's session processes), deepest first. */
function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  } catch {
    // ps exits 1 when there are none
  }
  return children.flatMap((c) => [...descendants(c), c]);
}

async function objectExists(key: string): Promise<boolean> {
  try {
    await platform.s3.send(new HeadObjectCommand({ Bucket: platform.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}
