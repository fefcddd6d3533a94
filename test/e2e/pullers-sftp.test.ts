import { chownSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { Pullers } from "@leadpipe/core";
import { runDelivery, runPuller } from "../../packages/local/src/pullers";
import { startRelay, startSshd, type Sshd } from "../support/peers";
import { pullCommand, pullsCommand } from "../../packages/local/src/commands/pull";
import {
  outcomes,
  sftpEntry,
  putFile,
  silentLog,
  usePullerPeer,
  variant,
  type PullerPlatform,
} from "../support/pullers-platform";

let env: PullerPlatform;
let sshd: Sshd;
let platform: PullerPlatform["platform"];
let deps: PullerPlatform["deps"];
let tmp: string;

usePullerPeer("leadpipe-pullers-sftp-", startSshd, (peer, started) => {
  sshd = peer;
  env = started;
  ({ platform, deps, tmp } = env);
});

const pullOnce = (spec: Pullers.PullerSpec) => env.pullOnce(spec);

function puller(name: string, extra: Record<string, unknown> = {}): Pullers.PullerSpec {
  return Pullers.PullerSpec.parse(sftpEntry(sshd, name, extra));
}
const put = (spec: Pullers.PullerSpec, name: string, content: string, mtime?: Date) =>
  putFile(sshd, spec, name, content, mtime);

async function objectExists(key: string): Promise<boolean> {
  try {
    await platform.s3.send(new HeadObjectCommand({ Bucket: platform.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

describe("SFTP puller against OpenSSH", () => {
  it("lands every file exactly once across repeated runs, into inbox/<source>/YYYY/MM/DD/<name>, and the pipeline imports it", async () => {
    const spec = puller("once");
    put(spec, "partner-b-mortgages-2026-12-01.csv", variant("301"));
    put(spec, "partner-b-mortgages-2026-12-02.csv", variant("302"));
    put(spec, "notes.txt", "not matched by the pattern");
    const first = await pullOnce(spec);
    expect(outcomes(first)).toEqual([
      ["partner-b-mortgages-2026-12-01.csv", "landed"],
      ["partner-b-mortgages-2026-12-02.csv", "landed"],
    ]);
    const today = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
    for (const r of first) {
      expect(r.key).toBe(`inbox/partner-b-mortgages/${today}/${path.basename(r.path)}`);
      expect(r.size).toBe(Buffer.byteLength(variant("301")));
      const {
        rows: [imp],
      } = await platform.pool.query("SELECT status, sha256, rows_read FROM imports WHERE id = $1", [r.import_id]);
      expect(imp).toMatchObject({ status: "COMPLETE_WITH_ERRORS", sha256: r.sha256, rows_read: 10 });
    }
    const second = await pullOnce(spec);
    const third = await pullOnce(spec);
    expect(outcomes(second)).toEqual([
      ["partner-b-mortgages-2026-12-01.csv", "already-landed"],
      ["partner-b-mortgages-2026-12-02.csv", "already-landed"],
    ]);
    expect(outcomes(third)).toEqual(outcomes(second));
    const {
      rows: [n],
    } = await platform.pool.query(
      "SELECT count(*)::int AS n FROM imports WHERE object_key LIKE 'inbox/partner-b-mortgages/%/partner-b-mortgages-2026-12-0_.csv'",
    );
    expect(n!.n).toBe(2);
  });

  it("does not land a file that grows between two listings until it is stable", async () => {
    const spec = puller("growing", { stable_seconds: 2 });
    put(spec, "partner-b-mortgages-2026-12-03.csv", variant("303").slice(0, 300));
    // The run's own wait for stability: the partner is still writing meanwhile.
    const growing = await Pullers.pull(
      spec,
      await (await import("@leadpipe/core/adapters/pullers")).openTransport(spec),
      {
        ...deps,
        log: silentLog,
        sourceOf: () => "partner-b-mortgages",
        sleep: async (ms) => {
          put(spec, "partner-b-mortgages-2026-12-03.csv", variant("303").slice(0, 600));
          await new Promise((r) => setTimeout(r, ms));
        },
      },
      { trigger: "cli" },
    );
    expect(growing.map((r) => r.outcome)).toEqual(["unstable"]);
    expect(growing[0]!.size).toBe(600);
    const { rows } = await platform.pool.query(
      "SELECT size::int, state, reason FROM puller_files WHERE puller = 'growing' ORDER BY id",
    );
    expect(rows.map((r) => [r.size, r.state])).toEqual([
      [300, "unstable"],
      [600, "unstable"],
    ]);
    expect(rows[0]!.reason).toMatch(/changed before it was complete: 300 bytes .* now 600 bytes/);
    put(spec, "partner-b-mortgages-2026-12-03.csv", variant("303"));
    const done = await pullOnce(spec);
    expect(done.map((r) => [r.outcome, r.size])).toEqual([["landed", Buffer.byteLength(variant("303"))]]);
  });

  it("loses nothing to equal modification times or a file older than the last run", async () => {
    const spec = puller("times", { stable_seconds: 0 });
    const same = new Date("2026-12-01T06:00:00Z");
    put(spec, "partner-b-mortgages-2026-12-04-a.csv", variant("304"), same);
    put(spec, "partner-b-mortgages-2026-12-04-b.csv", variant("305"), same);
    expect(outcomes(await pullOnce(spec))).toEqual([
      ["partner-b-mortgages-2026-12-04-a.csv", "landed"],
      ["partner-b-mortgages-2026-12-04-b.csv", "landed"],
    ]);
    // A slow upload that finishes with a timestamp older than everything landed so far.
    put(spec, "partner-b-mortgages-2026-12-04-c.csv", variant("306"), new Date("2026-11-01T00:00:00Z"));
    put(spec, "partner-b-mortgages-2026-12-04-d.csv", variant("307"), same);
    const later = await pullOnce(spec);
    expect(outcomes(later)).toEqual([
      ["partner-b-mortgages-2026-12-04-a.csv", "already-landed"],
      ["partner-b-mortgages-2026-12-04-b.csv", "already-landed"],
      ["partner-b-mortgages-2026-12-04-c.csv", "landed"],
      ["partner-b-mortgages-2026-12-04-d.csv", "landed"],
    ]);
  });

  it("lands the same name again when its content changes; the same content under another name is a duplicate import", async () => {
    const spec = puller("resend", { stable_seconds: 0 });
    put(spec, "partner-b-mortgages-2026-12-05.csv", variant("308"), new Date("2026-12-05T06:00:00Z"));
    expect((await pullOnce(spec)).map((r) => r.outcome)).toEqual(["landed"]);
    // The partner's corrected re-send, same name.
    put(spec, "partner-b-mortgages-2026-12-05.csv", variant("309"), new Date("2026-12-05T07:00:00Z"));
    const resent = await pullOnce(spec);
    expect(resent.map((r) => r.outcome)).toEqual(["landed"]);
    put(spec, "partner-b-mortgages-2026-12-05-copy.csv", variant("309"));
    const copy = await pullOnce(spec);
    expect(outcomes(copy)).toEqual([
      ["partner-b-mortgages-2026-12-05-copy.csv", "duplicate"],
      ["partner-b-mortgages-2026-12-05.csv", "already-landed"],
    ]);
    const { rows } = await platform.pool.query("SELECT state FROM puller_files WHERE puller = 'resend' ORDER BY id");
    expect(rows.map((r) => r.state)).toEqual(["landed", "landed", "duplicate"]);
  });

  it("refuses a server whose host key is not the pinned one: lands nothing and alerts with the reason", async () => {
    const spec = puller("wrongkey", { host_key: sshd.otherFingerprint, stable_seconds: 0 });
    put(spec, "partner-b-mortgages-2026-12-06.csv", variant("310"));
    const before = platform.alerts.length;
    const results = await pullOnce(spec);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ outcome: "failed" });
    expect(results[0]!.reason).toContain(`is ${sshd.hostKeyFingerprint}, not the pinned ${sshd.otherFingerprint}`);
    const alerts = platform.alerts.slice(before);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.message).toContain("TrustRefusedError");
    const { rows } = await platform.pool.query("SELECT count(*)::int AS n FROM puller_files WHERE puller = 'wrongkey'");
    expect(rows[0]!.n).toBe(0);
  });

  it("leaves nothing half-landed when the connection is killed mid-transfer, and the next run lands the file", async () => {
    const relay = await startRelay(sshd.port);
    try {
      const spec = puller("killed", { port: relay.port, stable_seconds: 0, attempts: 1 });
      const big =
        variant("311") +
        "\n".repeat(0) +
        Array.from({ length: 40_000 }, (_, i) => `# padding line ${i} ........................................`).join(
          "\n",
        );
      put(spec, "partner-b-mortgages-2026-12-07.csv", big);
      relay.cutAfter(400_000);
      const before = platform.alerts.length;
      const cut = await runPuller(spec, deps, "cli");
      expect(cut.map((r) => r.outcome)).toEqual(["failed"]);
      expect(platform.alerts.length).toBe(before + 1);
      const key = `inbox/partner-b-mortgages/${new Date().toISOString().slice(0, 10).replaceAll("-", "/")}/partner-b-mortgages-2026-12-07.csv`;
      expect(await objectExists(key)).toBe(false);
      const again = await runPuller(spec, deps, "cli");
      expect(again.map((r) => [r.outcome, r.key])).toEqual([["landed", key]]);
      expect(again[0]!.sha256).toBe((await import("node:crypto")).createHash("sha256").update(big).digest("hex"));
    } finally {
      await relay.close();
    }
  });

  it("retries a dropped connection within the run with backoff", async () => {
    const relay = await startRelay(sshd.port);
    try {
      const spec = puller("retried", { port: relay.port, stable_seconds: 0, attempts: 3 });
      put(spec, "partner-b-mortgages-2026-12-08.csv", variant("312") + "#".repeat(600_000));
      relay.cutAfter(300_000);
      const r = await runPuller(spec, deps, "cli");
      expect(r.map((x) => x.outcome)).toEqual(["landed"]);
      const { rows } = await platform.pool.query("SELECT attempts FROM puller_files WHERE puller = 'retried'");
      expect(rows[0]!.attempts).toBe(1);
    } finally {
      await relay.close();
    }
  });

  it("an operator's forced re-pull lands a landed file again", async () => {
    const spec = puller("forced", { stable_seconds: 0 });
    put(spec, "partner-b-mortgages-2026-12-09.csv", variant("313"));
    expect((await pullOnce(spec)).map((r) => r.outcome)).toEqual(["landed"]);
    expect(
      await Pullers.force(platform.pool, "forced", path.join(sshd.dir, "forced", "partner-b-mortgages-2026-12-09.csv")),
    ).toBe(true);
    expect(await Pullers.force(platform.pool, "forced", "/no/such/file.csv")).toBe(false);
    const again = await pullOnce(spec);
    // The pipeline knows the content: the re-pull lands and is imported as a duplicate.
    expect(again.map((r) => r.outcome)).toEqual(["duplicate"]);
    expect((await pullOnce(spec)).map((r) => r.outcome)).toEqual(["already-landed"]);
  });

  it("moves or deletes the remote file after landing; waits for a done marker", async () => {
    const moved = puller("moved", { stable_seconds: 0, after: "move:archive" });
    mkdirSync(path.join(sshd.dir, "moved", "archive"));
    chownSync(path.join(sshd.dir, "moved", "archive"), sshd.uid, sshd.gid);
    put(moved, "partner-b-mortgages-2026-12-10.csv", variant("314"));
    expect((await pullOnce(moved)).map((r) => r.outcome)).toEqual(["landed"]);
    expect(existsSync(path.join(sshd.dir, "moved", "archive", "partner-b-mortgages-2026-12-10.csv"))).toBe(true);
    expect(existsSync(path.join(sshd.dir, "moved", "partner-b-mortgages-2026-12-10.csv"))).toBe(false);

    const deleted = puller("deleted", { stable_seconds: 0, after: "delete", done_marker: ".done" });
    put(deleted, "partner-b-mortgages-2026-12-11.csv", variant("315"));
    put(deleted, "partner-b-mortgages-2026-12-11.csv.part", "being written");
    const waiting = await pullOnce(deleted);
    expect(waiting.map((r) => [path.basename(r.path), r.outcome])).toEqual([
      ["partner-b-mortgages-2026-12-11.csv", "unstable"],
    ]);
    put(deleted, "partner-b-mortgages-2026-12-11.csv.done", "");
    expect((await pullOnce(deleted)).map((r) => r.outcome)).toEqual(["landed"]);
    expect(existsSync(path.join(sshd.dir, "deleted", "partner-b-mortgages-2026-12-11.csv"))).toBe(false);
  });

  it("alerts once when the day's file is missing at expected_by", async () => {
    const spec = puller("expected", { schedule: "0 7 * * *", timezone: "America/New_York", expected_by: "09:00" });
    const before = platform.alerts.length;
    const at = new Date("2026-12-07T15:00:00Z"); // 10:00 in New York
    expect(await Pullers.checkExpected(spec, deps, new Date("2026-12-07T13:00:00Z"))).toBe(false); // 08:00: not yet
    expect(await Pullers.checkExpected(spec, deps, at)).toBe(true);
    expect(await Pullers.checkExpected(spec, deps, new Date(at.getTime() + 3600_000))).toBe(false);
    const alerts = platform.alerts.slice(before);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.subject).toBe("leadpipe puller expected: the 2026-12-07 file is missing");
    expect(alerts[0]!.message).toContain("expected *.csv in");
    expect(alerts[0]!.message).toContain("by 09:00 America/New_York on 2026-12-07");
  });
});

describe("leadpipe pull / pulls", () => {
  it("prints one JSON object per remote file, forces a re-pull, and lists runs and the ledger", async () => {
    const spec = puller("cli", { stable_seconds: 0 });
    put(spec, "partner-b-mortgages-2026-12-12.csv", variant("316"));
    put(spec, "unknown-2026-12-12.csv", "a,b\n1,2\n");
    const { writeFileSync } = await import("node:fs");
    const home = path.join(tmp, "home");
    writeFileSync(path.join(home, "pullers.json"), JSON.stringify([{ ...spec, private_key_file: sshd.clientKeyFile }]));
    const previous = process.env.LEADPIPE_HOME;
    process.env.LEADPIPE_HOME = home;
    const run = async (cmd: "pull" | "pulls", args: string[]) => {
      let text = "";
      const out = new Writable({
        write: (c, _e, cb) => {
          text += c;
          cb();
        },
      });
      await (cmd === "pull" ? pullCommand(out, deps) : pullsCommand(out, deps)).parseAsync(args, { from: "user" });
      return text
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    };
    try {
      const first = await run("pull", ["cli", "--json"]);
      expect(first.map((r) => [path.basename(String(r.path)), r.outcome]).sort()).toEqual([
        ["partner-b-mortgages-2026-12-12.csv", "landed"],
        ["unknown-2026-12-12.csv", "skipped"],
      ]);
      const landed = first.find((r) => r.outcome === "landed")!;
      expect(Object.keys(landed).sort()).toEqual(["import_id", "outcome", "path", "puller", "size"]);
      expect(landed.size).toBe(Buffer.byteLength(variant("316")));
      expect(first.find((r) => r.outcome === "skipped")!.reason).toContain(
        'no source recognizes the file name unknown-2026-12-12.csv: set "source"',
      );
      const forced = await run("pull", ["cli", "--json", "--force", String(landed.path)]);
      expect(forced.find((r) => r.path === landed.path)).toMatchObject({ outcome: "duplicate" });
      await expect(run("pull", ["nope", "--json"])).rejects.toThrowError(/unknown puller nope; declared: cli/);
      const listed = await run("pulls", ["--json"]);
      expect(listed.filter((l) => l.run && (l.run as { puller: string }).puller === "cli")).toHaveLength(2);
      expect(listed.some((l) => l.file && (l.file as { path: string; state: string }).state === "duplicate")).toBe(
        true,
      );
    } finally {
      if (previous === undefined) delete process.env.LEADPIPE_HOME;
      else process.env.LEADPIPE_HOME = previous;
    }
  });
});

describe("outbound delivery over SFTP (the lead hand-off)", () => {
  it("sends the file once, records it, and never sends the same content twice", async () => {
    const spec = puller("agency", { direction: "push" });
    const key = "outbox/leads/2026-12-07/leads-2026-12-07.csv";
    const content = "lead_id,first_name\n1,Ann\n";
    await platform.s3.send(
      new (await import("@aws-sdk/client-s3")).PutObjectCommand({ Bucket: platform.bucket, Key: key, Body: content }),
    );
    const sent = await runDelivery(spec, deps, key);
    expect(sent).toMatchObject({ outcome: "sent", remote_path: "leads-2026-12-07.csv", size: content.length });
    expect(sent.answer).toContain("bytes written and renamed into place");
    expect(readFileSync(path.join(sshd.dir, "agency", "leads-2026-12-07.csv"), "utf8")).toBe(content);
    expect(existsSync(path.join(sshd.dir, "agency", ".leads-2026-12-07.csv.part"))).toBe(false);
    expect((await runDelivery(spec, deps, key)).outcome).toBe("already-sent");
    const { rows } = await platform.pool.query(
      "SELECT state, size::int, sha256, attempts, sent_at IS NOT NULL AS sent FROM puller_deliveries WHERE puller = 'agency'",
    );
    expect(rows).toEqual([{ state: "sent", size: content.length, sha256: sent.sha256, attempts: 1, sent: true }]);
  });

  it("records and alerts a failed delivery, and sends it on the next run", async () => {
    const spec = puller("agency2", { direction: "push", attempts: 2 });
    const broken = Pullers.PullerSpec.parse({ ...spec, host_key: sshd.otherFingerprint });
    const key = "outbox/leads/2026-12-08/leads-2026-12-08.csv";
    await platform.s3.send(
      new (await import("@aws-sdk/client-s3")).PutObjectCommand({
        Bucket: platform.bucket,
        Key: key,
        Body: "lead_id\n2\n",
      }),
    );
    const before = platform.alerts.length;
    const failed = await runDelivery(broken, deps, key);
    expect(failed.outcome).toBe("failed");
    expect(failed.reason).toContain("not the pinned");
    expect(platform.alerts.slice(before).map((a) => a.subject)).toEqual([
      "leadpipe delivery agency2: leads-2026-12-08.csv FAILED",
    ]);
    expect((await runDelivery(spec, deps, key)).outcome).toBe("sent");
    expect((await runDelivery(spec, deps, key)).outcome).toBe("already-sent");
  });
});
