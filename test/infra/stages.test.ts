/**
 * Only the stages listed in stacks/config.ts can be synthesized or deployed: an unlisted name (a
 * typo in --stage, a personal stage nobody listed) is refused everywhere a deploy passes, with the
 * file to edit, and never gets a default profile.
 */
import { spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import type { App } from "sst/constructs";
import { describe, expect, it } from "vitest";
import sstConfig from "../../sst.config";
import { DEFAULT_REGION, stageConfig, stageNames, UnknownStageError } from "../../stacks/config";
import { addStacks } from "../../stacks/index";
import { PROJECT_ROOT, synthesize } from "../../stacks/synth";

const refusal = /stage "some-engineer" is not listed in stacks\/config\.ts: add it to `stages` there/;

describe("stages not listed in stacks/config.ts", () => {
  it("are refused by the stage config, with the file to edit and the listed stages", () => {
    expect(() => stageConfig("some-engineer")).toThrow(UnknownStageError);
    expect(() => stageConfig("some-engineer")).toThrow(refusal);
    expect(() => stageConfig("some-engineer")).toThrow(
      /Listed: ci, dev, integrations-example, local, migration-example, prod, pullers-example, test$/,
    );
    // Names of Object.prototype are not stages either.
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      expect(() => stageConfig(name), name).toThrow(UnknownStageError);
    }
  });

  it("are refused by sst deploy: by the app config for --stage, by the stacks for a personal stage", () => {
    const config = (stage?: string) => sstConfig.config({ stage } as Parameters<typeof sstConfig.config>[0]);
    expect(() => config("some-engineer")).toThrow(refusal);
    expect(config("prod")).toEqual({ name: "leadpipe", region: stageConfig("prod").region });
    // Without --stage SST asks for a personal stage after config(): the stacks refuse it then, before adding any.
    expect(config(undefined)).toEqual({ name: "leadpipe", region: DEFAULT_REGION });
    const stacks: string[] = [];
    const app = {
      stage: "some-engineer",
      stack: (fn: { name: string }) => stacks.push(fn.name),
      setDefaultRemovalPolicy: () => undefined,
    };
    expect(() => addStacks(app as unknown as App)).toThrow(refusal);
    expect(stacks).toEqual([]);
  });

  it("are refused by the offline synth before anything is written", async () => {
    const outdir = path.join(PROJECT_ROOT, ".build", "infra-test", "some-engineer");
    rmSync(outdir, { recursive: true, force: true });
    await expect(synthesize("some-engineer", outdir)).rejects.toThrow(refusal);
    expect(existsSync(outdir)).toBe(false);
  });

  it("are refused by `npm run synth` with the message alone, and no output folder", () => {
    const outdir = path.join(PROJECT_ROOT, ".build", "synth", "some-engineer");
    rmSync(outdir, { recursive: true, force: true });
    const run = spawnSync("npm", ["run", "--silent", "synth", "--", "--stage", "some-engineer"], {
      cwd: PROJECT_ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(refusal);
    expect(run.stderr).not.toMatch(/^\s+at /m); // no stack trace
    expect(existsSync(outdir)).toBe(false);
  });
});

describe("listed stages", () => {
  it("include the development stages for CI, the infrastructure tests and the local runtime", () => {
    expect(stageNames()).toEqual(expect.arrayContaining(["ci", "dev", "local", "prod", "test"]));
    for (const stage of ["dev", "ci", "test", "local"]) expect(stageConfig(stage).retainData, stage).toBe(false);
    expect(stageConfig("prod").retainData).toBe(true);
  });
});
