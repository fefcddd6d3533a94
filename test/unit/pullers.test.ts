import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { createHash } from "node:crypto";
import { Cron } from "croner";
import { describe, expect, it } from "vitest";
import { Pullers } from "@leadpipe/core";

const sftp = {
  name: "partner-b",
  transport: "sftp",
  host: "sftp.example",
  username: "u",
  password: "p",
  host_key: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
  dir: "/out",
  pattern: "*.csv",
};

describe("pullers.json", () => {
  it("parses the issue's field names with their defaults", () => {
    const [s] = Pullers.parsePullers(JSON.stringify([sftp]));
    expect(s).toMatchObject({
      name: "partner-b",
      transport: "sftp",
      port: 22,
      stable_seconds: 30,
      after: "keep",
      timezone: "UTC",
      direction: "pull",
    });
  });

  it("names every problem with its entry and field, and refuses unknown fields", () => {
    const bad = [
      { ...sftp, host_key: "md5:aa", port: 70000 },
      { ...sftp, name: "x", colour: "red" },
      { ...sftp, name: "partner-b" },
      { name: "m", transport: "graph", tenant_id: "t", client_id: "c", mailbox: "m@x", timezone: "Mars/Olympus" },
    ];
    expect(() => Pullers.parsePullers(JSON.stringify(bad))).toThrowError(
      /partner-b \(entry 0\): port:[\s\S]*partner-b \(entry 0\): host_key: an OpenSSH SHA256 fingerprint[\s\S]*x \(entry 1\): \(entry\): Unrecognized key: "colour"[\s\S]*m \(entry 3\): timezone: an IANA time zone[\s\S]*a graph puller needs client_secret or secret/,
    );
    expect(() => Pullers.parsePullers("{")).toThrowError(/pullers.json is not JSON/);
    expect(() => Pullers.parsePullers("{}")).toThrowError(/must be a JSON array/);
  });

  it("turns a 5-field cron into EventBridge's 6 fields (days of week 1-7 from SUN)", () => {
    expect(Pullers.toEventBridgeCron("15 6 * * 1-5")).toBe("cron(15 6 ? * 2-6 *)");
    expect(Pullers.toEventBridgeCron("*/30 * * * *")).toBe("cron(0/30 * * * ? *)");
    expect(Pullers.toEventBridgeCron("0 7 1 * *")).toBe("cron(0 7 1 * ? *)");
    expect(Pullers.toEventBridgeCron("0 7 * * 0")).toBe("cron(0 7 ? * 1 *)");
    expect(() => Pullers.toEventBridgeCron("0 7 1 * 1")).toThrowError(/cannot combine/);
  });
});

describe("schedules in a partner's time zone", () => {
  it("runs at 06:15 New York time on weekdays, once, on both sides of daylight saving", () => {
    const runs = new Cron("15 6 * * 1-5", { timezone: "America/New_York" }).nextRuns(
      6,
      new Date("2026-10-29T00:00:00Z"),
    );
    // EDT (UTC-4) until Sunday 1 November 2026, then EST (UTC-5).
    expect(runs.map((d) => d.toISOString())).toEqual([
      "2026-10-29T10:15:00.000Z",
      "2026-10-30T10:15:00.000Z",
      "2026-11-02T11:15:00.000Z",
      "2026-11-03T11:15:00.000Z",
      "2026-11-04T11:15:00.000Z",
      "2026-11-05T11:15:00.000Z",
    ]);
  });

  it("runs a job at 01:30 once on the night the clocks fall back, and on the night they spring forward", () => {
    const back = new Cron("30 1 * * *", { timezone: "America/New_York" }).nextRuns(2, new Date("2026-10-31T12:00:00Z"));
    expect(back.map((d) => d.toISOString())).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
    const forward = new Cron("30 2 * * *", { timezone: "America/New_York" }).nextRuns(
      2,
      new Date("2026-03-07T12:00:00Z"),
    );
    expect(forward).toHaveLength(2);
    expect(new Set(forward.map((d) => d.toISOString().slice(0, 10))).size).toBe(2);
  });

  it("tells the local day and time in the puller's zone", () => {
    expect(Pullers.localClock(new Date("2026-12-07T03:30:00Z"), "America/New_York")).toEqual({
      day: "2026-12-06",
      hhmm: "22:30",
    });
    expect(Pullers.localClock(new Date("2026-07-01T23:30:00Z"), "Europe/London")).toEqual({
      day: "2026-07-02",
      hhmm: "00:30",
    });
  });
});

describe("landing", () => {
  const entry = (name: string) => ({ path: `/out/${name}`, name, size: 1, modifiedAt: new Date(0) });

  it("takes files matching the pattern, never temporary names, and with a done marker only those marked", () => {
    const [spec] = Pullers.parsePullers(JSON.stringify([{ ...sftp, done_marker: ".done" }]));
    const listing = ["a.csv", "a.csv.done", "b.csv", ".c.csv", "d.csv.part", "e.txt"].map(entry);
    const { ready, waiting } = Pullers.candidates(spec!, listing);
    expect(ready.map((e) => e.name)).toEqual(["a.csv"]);
    expect(waiting.map((e) => e.name)).toEqual(["b.csv"]);
  });

  it("keys a landing inbox/<source>/YYYY/MM/DD/<name>", () => {
    expect(Pullers.landingKey("partner-b-mortgages", "x.csv", new Date("2026-12-07T23:59:59Z"))).toBe(
      "inbox/partner-b-mortgages/2026/12/07/x.csv",
    );
  });

  it("hashes what streams through and refuses a stream shorter or longer than listed", async () => {
    const data = Buffer.from("x".repeat(100_000));
    const ok = Pullers.hashingCounter(data.length);
    await pipeline(
      Readable.from([data.subarray(0, 40_000), data.subarray(40_000)]),
      ok,
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    expect(ok.sha256()).toBe(createHash("sha256").update(data).digest("hex"));
    expect(ok.bytes()).toBe(100_000);
    await expect(
      pipeline(
        Readable.from([data.subarray(0, 10)]),
        Pullers.hashingCounter(11),
        new Writable({ write: (_c, _e, cb) => cb() }),
      ),
    ).rejects.toThrowError("10 bytes arrived where 11 were listed");
    await expect(
      pipeline(
        Readable.from([data.subarray(0, 12)]),
        Pullers.hashingCounter(11),
        new Writable({ write: (_c, _e, cb) => cb() }),
      ),
    ).rejects.toThrowError("more than the 11 bytes listed arrived");
  });

  it("hashes a large stream on a worker thread: odd chunk sizes, one chunk larger than the ring, the same sha256", async () => {
    // 8 MB and up go to the worker (its ring is 8 slots of 1 MB); 23 MB in chunks that straddle slots.
    const data = Buffer.alloc(23 * 2 ** 20 + 12_345);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE((i * 2654435761) >>> 0, i);
    const cuts = [0, 1, 70_000, 1_048_575, 1_048_577, 3_000_000, 20 * 2 ** 20, data.length];
    const chunks = cuts.slice(1).map((end, i) => data.subarray(cuts[i], end));
    const counter = Pullers.hashingCounter(data.length);
    await pipeline(Readable.from(chunks), counter, new Writable({ write: (_c, _e, cb) => cb() }));
    expect(counter.sha256()).toBe(createHash("sha256").update(data).digest("hex"));
    expect(counter.bytes()).toBe(data.length);
    // Unknown length (Graph) takes the worker too; a second stream reuses the idle worker.
    const unknown = Pullers.hashingCounter(undefined);
    await pipeline(
      Readable.from([data.subarray(0, 5), data.subarray(5, 9_000_000)]),
      unknown,
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    expect(unknown.sha256()).toBe(createHash("sha256").update(data.subarray(0, 9_000_000)).digest("hex"));
  });

  it("hashes a large stream inline when the transport asks (FTPS): the same sha256, no waiting on a ring", async () => {
    const data = Buffer.alloc(20 * 2 ** 20 + 7);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32BE((i * 2246822519) >>> 0, i);
    // More than the worker's ring holds (8 MB) in one call: only the worker would have to wait.
    const inline = Pullers.streamHash(data.length, "inline");
    expect(inline.update(data.subarray(0, 16_384))).toBeUndefined();
    expect(inline.update(data.subarray(16_384))).toBeUndefined();
    expect(await inline.digest()).toBe(createHash("sha256").update(data).digest("hex"));
    const counter = Pullers.hashingCounter(data.length, "inline");
    await pipeline(
      Readable.from([data.subarray(0, 16_384), data.subarray(16_384)]),
      counter,
      new Writable({ write: (_c, _e, cb) => cb() }),
    );
    expect(counter.sha256()).toBe(createHash("sha256").update(data).digest("hex"));
    expect(counter.bytes()).toBe(data.length);
  });

  it("frees the hashing worker when the stream fails, and the next stream hashes correctly", async () => {
    const data = Buffer.alloc(12 * 2 ** 20, 7);
    const failing = new Readable({
      read() {
        this.push(data.subarray(0, 3 * 2 ** 20));
        this.destroy(new Error("connection reset"));
      },
    });
    const counter = Pullers.hashingCounter(data.length);
    await expect(pipeline(failing, counter, new Writable({ write: (_c, _e, cb) => cb() }))).rejects.toThrowError(
      "connection reset",
    );
    expect(counter.sha256()).toBe("");
    const next = Pullers.hashingCounter(data.length);
    await pipeline(Readable.from([data]), next, new Writable({ write: (_c, _e, cb) => cb() }));
    expect(next.sha256()).toBe(createHash("sha256").update(data).digest("hex"));
  });
});

describe("claims: who holds one, and whether it is dead", () => {
  it("names this process, and sees a holder dead only when its process on this machine is gone", async () => {
    const me = Pullers.claimOwner();
    expect(me).toMatch(new RegExp(`^linux:[0-9a-f-]+:\\d+:${process.pid}:\\d+@`));
    expect(Pullers.holderIsDead(me)).toBe(false);
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    await new Promise((r) => child.once("spawn", r));
    const started = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[19];
    const [prefix] = me.split(`:${process.pid}:`);
    const holder = `${prefix}:${child.pid}:${started}@${os.hostname()}`;
    expect(Pullers.holderIsDead(holder)).toBe(false);
    // The same pid started at another time is another process (a reused pid): the holder is gone.
    expect(Pullers.holderIsDead(`${prefix}:${child.pid}:1@${os.hostname()}`)).toBe(true);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
    expect(Pullers.holderIsDead(holder)).toBe(true);
    // Another machine (another kernel boot), or a holder named without /proc: never judged dead here.
    expect(Pullers.holderIsDead(holder.replace(/^linux:[^:]+:/, "linux:00000000-0000-0000-0000-000000000000:"))).toBe(
      false,
    );
    expect(Pullers.holderIsDead(`somehost:${child.pid}`)).toBe(false);
  });
});
