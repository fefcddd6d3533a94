import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { benchmarks, listing } from "../../bench/index";

const ROOT = path.resolve(import.meta.dirname, "../..");
const npmRunBench = (...args: string[]) =>
  spawnSync("npm", ["run", "--silent", "bench", "--", ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });

describe("npm run bench", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "bench-index-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("finds the benchmarks by the usage line of their doc comment; helper modules are not benchmarks", () => {
    writeFileSync(
      path.join(scratch, "fast.ts"),
      "/**\n * Something fast, measured. More prose.\n *\n *   npx tsx bench/fast.ts [--n 5]\n */\nexport {};\n",
    );
    writeFileSync(path.join(scratch, "helper.ts"), "/** Shared by the benchmarks. */\nexport const x = 1;\n");
    writeFileSync(path.join(scratch, "bare.ts"), "export const y = 2;\n");
    expect(benchmarks(scratch)).toEqual([
      { name: "fast", purpose: "Something fast, measured.", usage: ["npx tsx bench/fast.ts [--n 5]"] },
    ]);
  });

  it("lists every benchmark of the tree with its purpose and how to run it", () => {
    const names = benchmarks().map((b) => b.name);
    expect(names).toEqual(
      expect.arrayContaining(["imb", "ingest", "partners", "people", "feeds", "audiences", "stage-memory"]),
    );
    expect(names).not.toContain("harness");
    expect(names).not.toContain("stats");
    for (const b of benchmarks()) {
      expect(b.purpose.length, b.name).toBeGreaterThan(20);
      expect(b.usage.join("\n"), b.name).toContain(`bench/${b.name}.ts`);
    }

    const run = npmRunBench();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(listing(benchmarks()));
    expect(run.stdout).toContain("npx tsx bench/imb.ts");
  });

  it("runs the named benchmark with its arguments (the barcode codec on 500 codes)", () => {
    const run = npmRunBench("imb", "500");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/500 random codes/);
    expect(run.stdout).toMatch(/\| Imb\.encode\(tracking, routing\) \| 500 × 5 \| [\d,]+ \|/);
  });

  it("refuses a name that is not a benchmark, naming the ones there are", () => {
    const run = npmRunBench("../package");
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('no benchmark named "../package"; there are: audiences,');
    expect(run.stdout).toBe("");
  });
});
