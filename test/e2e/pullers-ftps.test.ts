import { chownSync, existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pullers } from "@leadpipe/core";
import { startVsftpd, type Vsftpd } from "../support/peers";
import { outcomes, silentLog, startPullerPlatform, variant, type PullerPlatform } from "../support/pullers-platform";

let env: PullerPlatform;
let ftpd: Vsftpd;
let platform: PullerPlatform["platform"];
let deps: PullerPlatform["deps"];

beforeAll(async () => {
  ftpd = await startVsftpd();
  env = await startPullerPlatform("leadpipe-pullers-ftps-");
  ({ platform, deps } = env);
});

afterAll(async () => {
  await env?.close();
  await ftpd?.stop();
});

const pullOnce = (spec: Pullers.PullerSpec) => env.pullOnce(spec);

function puller(name: string, extra: Record<string, unknown> = {}): Pullers.PullerSpec {
  const dir = path.join(ftpd.dir, name);
  if (!existsSync(dir)) {
    mkdirSync(dir);
    const st = statSync(ftpd.dir);
    chownSync(dir, st.uid, st.gid);
  }
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
  ftpd.write(path.join(path.basename((spec as { dir: string }).dir), name), content, mtime);

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
});
