/**
 * Offline synthesis of a tenant's CloudFormation templates: no AWS credentials, no network.
 *
 *   npm run synth -- --stage <name> [--out <dir>]     (default out: .build/synth/<stage>/)
 *
 * `sst build` needs credentials (it looks up the account), so this drives SST the way its own
 * tests do: load sst.config.ts with initProject, build the same stacks into an App in deploy mode
 * with NODE_ENV=test (which skips SST's bootstrap look-ups), and let CDK write the cloud assembly.
 * Each Lambda is bundled by esbuild on the way, exactly as a deploy would bundle it.
 */
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { App, getStack, type Stack } from "sst/constructs";
import { initProject, useProject } from "sst/project.js";
import { stageConfig } from "./config";
import { Database } from "./Database";
import { addStacks } from "./index";
import { Pipeline } from "./Pipeline";
import { Console } from "./Console";

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface Synthesized {
  app: App;
  stacks: { database: Stack; pipeline: Stack; console: Stack };
  assembly: CloudAssembly;
}

/** Synthesizes every stack of `stage`; the cloud assembly goes to `outdir` (a temp dir if omitted). */
export async function synthesize(stage: string, outdir?: string): Promise<Synthesized> {
  // SST skips its credentialed steps (bootstrap bucket look-up, sourcemap upload) under test.
  process.env.NODE_ENV = "test";
  // SST runs `npm install` in every bundle directory (with no dependencies, since pg-native is
  // kept external): keep npm from reaching for the registry's audit and fund endpoints.
  process.env.npm_config_offline = "true";
  process.env.npm_config_audit = "false";
  process.env.npm_config_fund = "false";
  // Handlers are resolved relative to the project root, as under the SST CLI.
  if (process.cwd() !== PROJECT_ROOT) process.chdir(PROJECT_ROOT);
  await initProject({ stage, root: PROJECT_ROOT });
  const { config } = useProject();
  const app = new App(
    { mode: "deploy", stage: config.stage, name: config.name, region: config.region },
    outdir ? { outdir } : {},
  );
  addStacks(app);
  await app.finish();
  const assembly = app.synth();
  return {
    app,
    stacks: { database: getStack(Database), pipeline: getStack(Pipeline), console: getStack(Console) },
    assembly,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stage: { type: "string" }, out: { type: "string" } },
    allowPositionals: false,
  });
  if (!values.stage) {
    console.error("usage: npm run synth -- --stage <name> [--out <dir>]");
    process.exit(2);
  }
  stageConfig(values.stage); // an unlisted stage is refused before anything is written
  const outdir = path.resolve(values.out ?? path.join(PROJECT_ROOT, ".build", "synth", values.stage));
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const { assembly } = await synthesize(values.stage, outdir);
  for (const stack of assembly.stacks) console.log(path.join(assembly.directory, stack.templateFile));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    // A refused stage is a message for the person who typed it, not a stack trace.
    // (sst.config.ts is bundled apart from this module: its error is another class, so match the name.)
    console.error((err as Error)?.name === "UnknownStageError" ? (err as Error).message : err);
    process.exit(1);
  });
}
