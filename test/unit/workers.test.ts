import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { WorkerPool } from "../../packages/local/src/workers";

const dir = mkdtempSync(path.join(os.tmpdir(), "leadpipe-workers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A handler module that takes `ms` to load and notes each load in `log`. */
function slowModule(name: string, ms: number, log: string): string {
  const file = path.join(dir, `${name}.mjs`);
  writeFileSync(
    file,
    `import { appendFileSync } from "node:fs";
const until = Date.now() + ${ms};
while (Date.now() < until) {}
appendFileSync(${JSON.stringify(log)}, "loaded\\n");
export async function handler(event) { return { echoed: event }; }
`,
  );
  return file;
}

describe("WorkerPool", () => {
  it("ready() resolves once every worker has loaded its preloaded handlers, and they then run without loading again", async () => {
    const log = path.join(dir, "loads.log");
    writeFileSync(log, "");
    const module = slowModule("slow", 300, log);
    const pool = new WorkerPool(2, [module]);
    try {
      expect(readFileSync(log, "utf8")).toBe("");
      await pool.ready();
      expect(readFileSync(log, "utf8")).toBe("loaded\nloaded\n");
      await expect(Promise.all([pool.run(module, 1), pool.run(module, 2)])).resolves.toEqual([
        { echoed: 1 },
        { echoed: 2 },
      ]);
      expect(readFileSync(log, "utf8")).toBe("loaded\nloaded\n");
      await expect(pool.ready()).resolves.toBeUndefined();
    } finally {
      await pool.close();
    }
  });

  it("a preloaded module that cannot load does not hold ready() up; its task reports the error", async () => {
    const broken = path.join(dir, "broken.mjs");
    writeFileSync(broken, "throw new Error('this handler cannot load');\n");
    const pool = new WorkerPool(1, [broken]);
    try {
      await pool.ready();
      await expect(pool.run(broken, {})).rejects.toThrow("this handler cannot load");
    } finally {
      await pool.close();
    }
  });

  it("close() releases a caller still waiting for ready()", async () => {
    const log = path.join(dir, "never.log");
    const pool = new WorkerPool(1, [slowModule("slower", 5_000, log)]);
    const waiting = pool.ready();
    await pool.close();
    await expect(waiting).resolves.toBeUndefined();
  });
});
