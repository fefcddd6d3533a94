import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Leads, Pullers } from "@leadpipe/core";
import { DELIVERY_PROPERTY } from "@leadpipe/core/adapters/graph";
import { readAll } from "../../packages/core/src/imports/streams";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { leadsCommand } from "../../packages/local/src/commands/leads";
import { platformConnection } from "../../packages/local/src/commands/connect";
import { runDelivery } from "../../packages/local/src/pullers";
import { startFakeGraph, type FakeGraph } from "../support/fake-graph";
import { startSshd, type Sshd } from "../support/peers";
import { startPullerPlatform, type PullerPlatform } from "../support/pullers-platform";

/**
 * The daily lead hand-off delivered to the insurance agency: over SFTP (OpenSSH) and by e-mail
 * through Microsoft Graph's sendMail (a local Graph), each destination exactly once, through the
 * same handler the schedule (and Lambda) runs and through `leadpipe leads handoff`.
 */
let env: PullerPlatform;
let sshd: Sshd;
let graph: FakeGraph;
let platform: PullerPlatform["platform"];
const AGENCY = "leads@agency.example";
const sampleDay = path.resolve(__dirname, "../../fixtures/sample-day");
const repo = path.resolve(__dirname, "../..");
/** Hand-off days: today (the leads were created today) and the days after it. */
const day = (n: number) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  [sshd, graph] = await Promise.all([startSshd(), startFakeGraph()]);
  env = await startPullerPlatform("leadpipe-lead-delivery-");
  ({ platform } = env);
  const incoming = path.join(sshd.dir, "incoming");
  mkdirSync(incoming);
  chownSync(incoming, sshd.uid, sshd.gid);
  writeFileSync(
    path.join(platform.paths.root, "pullers.json"),
    JSON.stringify([
      {
        name: "agency-sftp",
        direction: "push",
        transport: "sftp",
        host: "127.0.0.1",
        port: sshd.port,
        username: "leadpipe-sftp",
        private_key_file: sshd.clientKeyFile,
        host_key: sshd.hostKeyFingerprint,
        dir: incoming,
      },
      {
        name: "agency-mail",
        direction: "push",
        transport: "graph",
        tenant_id: graph.tenantId,
        client_id: graph.clientId,
        client_secret: graph.clientSecret,
        mailbox: graph.mailbox,
        to: [AGENCY],
        subject: "Leads {name}",
        attempts: 2,
        graph_url: graph.url,
        login_url: graph.url,
      },
    ]),
  );
  // Leads from the sample day: partner B's mortgages, their barcodes (the mail pieces), and the call center's interested callers.
  for (const f of [
    "partner-b-mortgages-2026-11-20.csv",
    "partner-b-barcodes-2026-11-20.csv",
    "call-center-responses-2026-11-20.csv",
  ]) {
    await platform.waitFor([await platform.drop(path.join(sampleDay, f))]);
  }
}, 180_000);

afterAll(async () => {
  await env?.close();
  await Promise.all([sshd?.stop(), graph?.close()]);
});

type Handed = Leads.DeliveredHandoff;
/** The hand-off as the daily schedule runs it (the Lambda handler, locally). */
const scheduled = async (day: string) =>
  (await platform.invoke("lead-handoff", {
    "detail-type": "Scheduled Event",
    source: "aws.events",
    time: `${day}T22:00:00Z`,
  })) as Handed;
const outcomes = (r: Handed) => r.deliveries.map((d) => [d.destination, d.remote_path, d.outcome]);
const object = async (key: string) => (await readAll(await s3Store(platform.s3).read(platform.bucket, key))).toString();
/** Messages sent (not drafts) carrying the delivery marker of this file name. */
const mailsOf = (name: string) =>
  graph.mails.filter((m) => !m.isDraft && m.properties[DELIVERY_PROPERTY]?.startsWith(`${name}:`));
const ledger = async (key: string) =>
  (
    await platform.pool.query(
      "SELECT puller, state, attempts, answer FROM puller_deliveries WHERE object_key = $1 ORDER BY puller",
      [key],
    )
  ).rows;

describe("the daily lead hand-off, delivered", () => {
  it("sends the day's file once to each destination; running the hand-off again sends nothing new", async () => {
    const name = `leads-${day(0)}.csv`;
    const first = await scheduled(day(0));
    expect(first.leads).toBeGreaterThan(0);
    expect(outcomes(first)).toEqual([
      ["agency-sftp", name, "sent"],
      ["agency-mail", name, "sent"],
    ]);
    const content = await object(first.key);
    expect(content.split("\n")[0]).toMatch(/^lead_id,first_name,/);
    expect(readFileSync(path.join(sshd.dir, "incoming", name), "utf8")).toBe(content);
    const [mail] = mailsOf(name);
    expect(mailsOf(name)).toHaveLength(1);
    expect(mail).toMatchObject({ via: "sendMail", to: [AGENCY], subject: `Leads ${name}` });
    expect(mail!.attachments.map((a) => [a.name, a.content.toString()])).toEqual([[name, content]]);
    expect(mail!.properties[DELIVERY_PROPERTY]).toBe(`${name}:${first.sha256}`);

    // Again through the CLI (`leadpipe leads handoff`): the same file, nothing sent again.
    const stdout = new PassThrough();
    let printed = "";
    stdout.on("data", (b: Buffer) => {
      printed += b.toString();
    });
    const requests = graph.stats.requests;
    await leadsCommand(stdout, async () => platformConnection(platform)).parseAsync(
      ["handoff", "--day", day(0), "--json"],
      {
        from: "user",
      },
    );
    const again = JSON.parse(printed) as Handed;
    expect(again).toMatchObject({ created: false, sha256: first.sha256 });
    expect(outcomes(again)).toEqual([
      ["agency-sftp", name, "already-sent"],
      ["agency-mail", name, "already-sent"],
    ]);
    expect(mailsOf(name)).toHaveLength(1);
    // The ledger answered: Graph was not even asked.
    expect(graph.stats.requests).toBe(requests);
    expect((await ledger(first.key)).map((r) => [r.puller, r.state, r.attempts])).toEqual([
      ["agency-mail", "sent", 1],
      ["agency-sftp", "sent", 1],
    ]);
  });

  it("alerts a failed send and sends it with the next run, once", async () => {
    const [d2, d3] = [day(1), day(2)];
    graph.failSends(2, 500);
    const before = platform.alerts.length;
    const failed = await scheduled(d2);
    expect(outcomes(failed)).toEqual([
      ["agency-sftp", `leads-${d2}.csv`, "sent"],
      ["agency-mail", `leads-${d2}.csv`, "failed"],
    ]);
    expect(failed.deliveries[1]!.reason).toContain("answered 500");
    expect(platform.alerts.slice(before).map((a) => a.subject)).toEqual([
      `leadpipe delivery agency-mail: leads-${d2}.csv FAILED`,
    ]);
    expect(mailsOf(`leads-${d2}.csv`)).toHaveLength(0);
    expect((await ledger(failed.key)).map((r) => [r.puller, r.state, r.attempts])).toEqual([
      ["agency-mail", "failed", 1],
      ["agency-sftp", "sent", 1],
    ]);

    // The next day's run sends the day before's file first, then its own; nothing twice.
    const next = await scheduled(d3);
    expect(outcomes(next)).toEqual([
      ["agency-sftp", `leads-${d3}.csv`, "sent"],
      ["agency-mail", `leads-${d2}.csv`, "sent"],
      ["agency-mail", `leads-${d3}.csv`, "sent"],
    ]);
    expect(mailsOf(`leads-${d2}.csv`)).toHaveLength(1);
    expect(mailsOf(`leads-${d3}.csv`)).toHaveLength(1);
    expect(outcomes(await scheduled(d3)).map((o) => o[2])).toEqual(["already-sent", "already-sent"]);
    expect(platform.alerts.length).toBe(before + 1);
  });

  it("sends a file over 3 MB through an upload session, waiting out a 429's Retry-After", async () => {
    const spec = Pullers.PullerSpec.parse({
      ...JSON.parse(readFileSync(path.join(platform.paths.root, "pullers.json"), "utf8"))[1],
      name: "agency-mail-large",
    });
    const key = "outbox/leads/2026-12-04/leads-2026-12-04-large.csv";
    const big = randomBytes(7 * 1024 * 1024 + 12_345);
    await platform.s3.send(new PutObjectCommand({ Bucket: platform.bucket, Key: key, Body: big }));
    graph.throttle(1, 1);
    const throttled = graph.stats.throttled;
    const started = Date.now();
    const r = await runDelivery(spec, env.deps, key);
    expect(r).toMatchObject({ outcome: "sent", size: big.length });
    expect(r.answer).toMatch(/^sent \(202\) with an upload session: .* \(7352377 bytes, 3 ranges\)/);
    expect(graph.stats.throttled).toBe(throttled + 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(graph.stats.largestRange).toBeLessThan(4 * 1024 * 1024);
    const mails = mailsOf("leads-2026-12-04-large.csv");
    expect(mails.map((m) => m.via)).toEqual(["upload-session"]);
    expect(createHash("sha256").update(mails[0]!.attachments[0]!.content).digest("hex")).toBe(r.sha256);
    expect((await runDelivery(spec, env.deps, key)).outcome).toBe("already-sent");
    expect(graph.mails.filter((m) => m.isDraft)).toEqual([]);
  });

  it("does not resend blind when the answer to a send is lost: the next run finds the message", async () => {
    const spec = Pullers.PullerSpec.parse({
      ...JSON.parse(readFileSync(path.join(platform.paths.root, "pullers.json"), "utf8"))[1],
      name: "agency-mail-lost",
    });
    const key = "outbox/leads/2026-12-06/leads-2026-12-06-lost.csv";
    await platform.s3.send(new PutObjectCommand({ Bucket: platform.bucket, Key: key, Body: "lead_id\n7\n" }));
    graph.dropSendAnswers(1);
    const before = platform.alerts.length;
    const lost = await runDelivery(spec, env.deps, key);
    expect(lost.outcome).toBe("failed");
    expect(lost.reason).toMatch(/^DeliveryUnknownError: POST sendMail: no answer/);
    expect(platform.alerts.slice(before).map((a) => a.subject)).toEqual([
      "leadpipe delivery agency-mail-lost: leads-2026-12-06-lost.csv FAILED",
    ]);
    // Not retried within the run although `attempts` is 2: one message reached the mailbox.
    expect(mailsOf("leads-2026-12-06-lost.csv")).toHaveLength(1);
    const next = await runDelivery(spec, env.deps, key);
    expect(next.outcome).toBe("already-sent");
    expect(next.answer).toMatch(/^sent before as </);
    expect(mailsOf("leads-2026-12-06-lost.csv")).toHaveLength(1);
    expect((await ledger(key)).map((r) => [r.state, r.attempts])).toEqual([["sent", 2]]);
  });

  it("never sends twice when the run is killed after the server took the send", async () => {
    const d = day(3);
    const name = `leads-${d}.csv`;
    graph.holdSends(true);
    // `leadpipe leads handoff` in its own process, against this platform (its runtime.json).
    const child = spawn(process.execPath, ["packages/local/bin/leadpipe.js", "leads", "handoff", "--day", d], {
      cwd: repo,
      env: { ...process.env, LEADPIPE_HOME: platform.paths.root },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const deadline = Date.now() + 60_000;
    while (mailsOf(name).length === 0) {
      if (child.exitCode !== null) throw new Error(`leadpipe leads handoff exited (${child.exitCode}): ${stderr}`);
      if (Date.now() > deadline) throw new Error(`no send within 60 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await exited;
    graph.holdSends(false);
    const key = `outbox/leads/${d}/${name}`;
    expect((await ledger(key)).map((r) => [r.puller, r.state])).toEqual([
      ["agency-mail", "pending"],
      ["agency-sftp", "sent"],
    ]);
    // The killed run's claim is still in its lease, and names the dead process: the next run takes
    // it over at once (no waiting for the lease), asks the receiver first, and sends nothing again.
    const {
      rows: [held],
    } = await platform.pool.query<{ claimed_by: string; left: number }>(
      `SELECT claimed_by, extract(epoch FROM claimed_until - now())::float8 AS left
         FROM puller_deliveries WHERE object_key = $1 AND state = 'pending'`,
      [key],
    );
    expect(held!.claimed_by).toMatch(new RegExp(`^linux:[^:]+:\\d+:${child.pid}:\\d+@`));
    expect(held!.left).toBeGreaterThan(5);
    expect(Pullers.holderIsDead(held!.claimed_by)).toBe(true);
    const started = Date.now();
    const rerun = await scheduled(d);
    expect(Date.now() - started).toBeLessThan(held!.left * 1000);
    expect(outcomes(rerun)).toEqual([
      ["agency-sftp", name, "already-sent"],
      ["agency-mail", name, "already-sent"],
    ]);
    expect(rerun.deliveries[1]!.answer).toMatch(/^sent before as <.*> at .* \(found in /);
    expect(mailsOf(name)).toHaveLength(1);
    expect((await ledger(key)).map((r) => [r.puller, r.state, r.attempts])).toEqual([
      ["agency-mail", "sent", 2],
      ["agency-sftp", "sent", 1],
    ]);
  }, 90_000);
});
