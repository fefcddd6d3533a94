import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Pullers } from "@leadpipe/core";
import { startFakeGraph, type FakeGraph } from "../support/fake-graph";
import { outcomes, startPullerPlatform, variant, type PullerPlatform } from "../support/pullers-platform";

const PARTNER = "files@partner-b.example";

let env: PullerPlatform;
let graph: FakeGraph;
let platform: PullerPlatform["platform"];

beforeAll(async () => {
  graph = await startFakeGraph();
  env = await startPullerPlatform("leadpipe-pullers-graph-");
  ({ platform } = env);
});

afterAll(async () => {
  await env?.close();
  await graph?.close();
});

const pullOnce = (spec: Pullers.PullerSpec) => env.pullOnce(spec);

function puller(name: string, extra: Record<string, unknown> = {}): Pullers.PullerSpec {
  return Pullers.PullerSpec.parse({
    name,
    transport: "graph",
    tenant_id: graph.tenantId,
    client_id: graph.clientId,
    client_secret: graph.clientSecret,
    mailbox: graph.mailbox,
    folder: "inbox",
    from: PARTNER,
    attachment_pattern: "partner-b-*.csv",
    graph_url: graph.url,
    login_url: graph.url,
    ...extra,
  });
}

describe("Microsoft Graph mailbox puller against a local Graph", () => {
  it("lands each matching attachment once; delta queries bring only new mail; a 410 resync lands nothing twice", async () => {
    const spec = puller("mailbox");
    graph.deliver({
      from: PARTNER,
      attachments: [
        { name: "partner-b-mortgages-2026-12-20.csv", content: variant("501") },
        { name: "logo.png", content: "png" },
      ],
    });
    // hasAttachments says false, but the attachment is there.
    graph.deliver({
      from: PARTNER,
      hasAttachments: false,
      attachments: [{ name: "partner-b-mortgages-2026-12-21.csv", content: variant("502") }],
    });
    graph.deliver({
      from: "someone@else.example",
      attachments: [{ name: "partner-b-mortgages-2026-12-22.csv", content: variant("503") }],
    });
    graph.deliver({
      from: PARTNER,
      attachments: [
        { name: "partner-b-mortgages-2026-12-23-a.csv", content: variant("504") },
        { name: "partner-b-mortgages-2026-12-23-b.csv", content: variant("505") },
      ],
    });
    const first = await pullOnce(spec);
    expect(outcomes(first)).toEqual([
      ["partner-b-mortgages-2026-12-20.csv", "landed"],
      ["partner-b-mortgages-2026-12-21.csv", "landed"],
      ["partner-b-mortgages-2026-12-23-a.csv", "landed"],
      ["partner-b-mortgages-2026-12-23-b.csv", "landed"],
    ]);
    for (const r of first) {
      expect(r.path).toMatch(/^<[0-9a-f-]+@partner\.example>\/partner-b-mortgages-2026-12-2\d(-[ab])?\.csv$/);
      const {
        rows: [imp],
      } = await platform.pool.query("SELECT status, sha256 FROM imports WHERE id = $1", [r.import_id]);
      expect(imp).toMatchObject({ status: "COMPLETE_WITH_ERRORS", sha256: r.sha256 });
    }
    const {
      rows: [link],
    } = await platform.pool.query("SELECT delta_link FROM puller_delta_links WHERE puller = 'mailbox'");
    expect(link!.delta_link).toContain("$deltatoken=");

    // The delta link: nothing new, nothing listed.
    expect(await pullOnce(spec)).toEqual([]);
    graph.deliver({
      from: PARTNER,
      attachments: [{ name: "partner-b-mortgages-2026-12-24.csv", content: variant("506") }],
    });
    expect(outcomes(await pullOnce(spec))).toEqual([["partner-b-mortgages-2026-12-24.csv", "landed"]]);

    // The kept link expires: a full resync lists everything again, and lands none of it twice.
    graph.expireDeltaLinks();
    const values = graph.stats.valueRequests;
    const resync = await pullOnce(spec);
    expect(graph.stats.gone).toBe(1);
    expect(resync).toHaveLength(5);
    expect(resync.every((r) => r.outcome === "already-landed")).toBe(true);
    expect(graph.stats.valueRequests).toBe(values);
    const {
      rows: [n],
    } = await platform.pool.query(
      "SELECT count(*)::int AS n FROM puller_files WHERE puller = 'mailbox' AND state = 'landed'",
    );
    expect(n!.n).toBe(5);
  });

  it("waits out 429 with Retry-After and keeps at most 4 requests in flight per mailbox", async () => {
    const spec = puller("throttled", { folder: "throttled" });
    for (let i = 0; i < 12; i++) {
      graph.deliver({
        folder: "throttled",
        from: PARTNER,
        attachments: [
          {
            name: `partner-b-mortgages-2026-12-3${String(i).padStart(2, "0")}.csv`,
            content: variant(`6${String(i).padStart(2, "0")}`),
          },
        ],
      });
    }
    graph.stats.maxInFlight = 0;
    graph.throttle(2, 1);
    const started = Date.now();
    const results = await pullOnce(spec);
    expect(results.filter((r) => r.outcome === "landed")).toHaveLength(12);
    expect(graph.stats.throttled).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(graph.stats.maxInFlight).toBeGreaterThan(1);
    expect(graph.stats.maxInFlight).toBeLessThanOrEqual(4);
  });

  it("refuses a wrong client secret with an alert and lands nothing", async () => {
    const spec = puller("badsecret", { client_secret: "not-the-secret", folder: "other" });
    const before = platform.alerts.length;
    const results = await pullOnce(spec);
    expect(results.map((r) => r.outcome)).toEqual(["failed"]);
    expect(results[0]!.reason).toContain("token request refused (401): invalid_client");
    expect(platform.alerts.length).toBe(before + 1);
  });

  it("moves the message to an archive folder after landing", async () => {
    const spec = puller("archived", { folder: "arch-in", after: "move:archive" });
    const m = graph.deliver({
      folder: "arch-in",
      from: PARTNER,
      attachments: [{ name: "partner-b-mortgages-2026-12-40.csv", content: variant("701") }],
    });
    expect((await pullOnce(spec)).map((r) => r.outcome)).toEqual(["landed"]);
    expect(graph.stats.moved).toContain(m.internetMessageId);
    expect(m.folder).toBe("archive");
  });
});
