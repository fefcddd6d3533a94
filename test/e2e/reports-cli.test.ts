import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Reports } from "@leadpipe/core";

const CLI = path.resolve("packages/local/bin/leadpipe.js");
const home = path.join(mkdtempSync(path.join(os.tmpdir(), "leadpipe-report-cli-")), "home");

/** `leadpipe report …` as a person runs it, with no platform running: it boots the embedded database itself. */
function leadpipe(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [CLI, "report", ...args], {
    env: { ...process.env, LEADPIPE_HOME: home, DATABASE_URL: "" },
    encoding: "utf8",
    timeout: 180_000,
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

afterAll(() => rmSync(path.dirname(home), { recursive: true, force: true }));

describe("leadpipe report (the CLI, through the read-only role)", () => {
  it("lists every catalogued report with its data-as-of time, as the read-only role", () => {
    const r = leadpipe("list", "--json");
    expect(r.stderr).not.toMatch(/refused/);
    expect(r.status).toBe(0);
    const rows = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { name: string; data_as_of: string | null });
    expect(rows.map((x) => x.name).sort()).toEqual(Reports.reports.map((c) => c.name).sort());
    expect(rows.length).toBeGreaterThanOrEqual(12);
  });

  it("shows one report filtered by a catalogue column, and refuses a column it does not have", () => {
    const ok = leadpipe("show", "funnel", "--where", "partner=B", "--json");
    expect(ok.stderr).not.toMatch(/refused/);
    expect(ok.status).toBe(0);
    const bad = leadpipe("show", "funnel", "--where", "password=x");
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/password/);
  });
});
