import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { keyOfUrl, mirrorObject, mirrorPath } from "../../packages/local/src/mirror";

const root = "/home/ops/.leadpipe";

describe("mirrorPath", () => {
  it("puts outbox/ and reports/ objects at their key under the home", () => {
    expect(mirrorPath(root, "outbox/leads/2026-11-20/leads-2026-11-20.csv")).toBe(
      `${root}/outbox/leads/2026-11-20/leads-2026-11-20.csv`,
    );
    expect(mirrorPath(root, "reports/0b7c/errors.csv")).toBe(`${root}/reports/0b7c/errors.csv`);
    expect(mirrorPath(root, "outbox/audiences/a b/ü.csv")).toBe(`${root}/outbox/audiences/a b/ü.csv`);
  });

  it("mirrors nothing else, and no key reaches outside the home", () => {
    for (const key of [
      "inbox/partner-b/x.csv",
      "staging/id/chunk-00001.csv",
      "replays/id/x.csv",
      "outboxes/x",
      "report/x",
      "outbox/../../etc/passwd",
      "reports/../pg/postgresql.conf",
      "reports/./x",
      "outbox//x",
      "outbox/x/",
      "reports/",
      "outbox/a\0b",
      `outbox/${"n".repeat(256)}`,
      `outbox/${"é".repeat(128)}`,
    ]) {
      expect(mirrorPath(root, key), key).toBeUndefined();
    }
    expect(mirrorPath(root, `outbox/${"n".repeat(255)}`)).toBe(`${root}/outbox/${"n".repeat(255)}`);
  });

  it("takes the key out of an s3:// URL of the bucket, and refuses another bucket's", () => {
    expect(keyOfUrl("s3://landing/outbox/audiences/x.csv", "landing")).toBe("outbox/audiences/x.csv");
    expect(() => keyOfUrl("s3://other/outbox/x.csv", "landing")).toThrow(
      "not an object of bucket landing: s3://other/outbox/x.csv",
    );
  });
});

describe("mirrorObject", () => {
  const home = mkdtempSync(path.join(os.tmpdir(), "mirror-"));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const store = (body: string | Error) => ({
    read: async () =>
      body instanceof Error
        ? new Readable({
            read() {
              this.destroy(body);
            },
          })
        : Readable.from([Buffer.from(body.slice(0, 3)), Buffer.from(body.slice(3))]),
  });

  it("writes the object's bytes at its path, private to the user, and overwrites it with a newer version", async () => {
    const file = await mirrorObject(store("a,b\n1,2\n"), "landing", "reports/id-1/success.csv", home);
    expect(file).toBe(path.join(home, "reports/id-1/success.csv"));
    expect(readFileSync(file!, "utf8")).toBe("a,b\n1,2\n");
    expect(statSync(file!).mode & 0o777).toBe(0o600);
    await mirrorObject(store("a,b\n3,4\n"), "landing", "reports/id-1/success.csv", home);
    expect(readFileSync(file!, "utf8")).toBe("a,b\n3,4\n");
    expect(readdirSync(path.dirname(file!))).toEqual(["success.csv"]);
  });

  it("a failed read keeps the previous file and leaves no partial file behind", async () => {
    const failing = mirrorObject(store(new Error("connection reset")), "landing", "reports/id-1/success.csv", home);
    await expect(failing).rejects.toThrow("connection reset");
    expect(readFileSync(path.join(home, "reports/id-1/success.csv"), "utf8")).toBe("a,b\n3,4\n");
    expect(readdirSync(path.join(home, "reports/id-1"))).toEqual(["success.csv"]);
  });

  it("copies nothing for a key that is not mirrored", async () => {
    expect(await mirrorObject(store("x"), "landing", "reports/../../x", home)).toBeUndefined();
    expect(readdirSync(home)).toEqual(["reports"]);
  });
});
