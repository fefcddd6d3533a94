import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Pullers } from "@leadpipe/core";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { createSnsClient, snsNotifier } from "@leadpipe/core/adapters/sns";
import { LocalPlatform } from "../../packages/local/src/platform";
import { runPuller, waitForPulledImports, type LocalPullDeps } from "../../packages/local/src/pullers";

const sample = readFileSync(
  path.resolve(__dirname, "../../fixtures/sample-day/partner-b-mortgages-2026-11-20.csv"),
  "utf8",
);

/** A valid partner B file whose mortgage ids carry `tag` (so each variant is new content). */
export const variant = (tag: string) => sample.replaceAll("B-1000", `B-${tag}`);

/** [file name, outcome] of each result, sorted. */
export const outcomes = (rs: Pullers.PullResult[]) => rs.map((r) => [path.basename(r.path), r.outcome]).sort();

export const silentLog = {
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLog;
  },
};

export interface PullerPlatform {
  platform: LocalPlatform;
  deps: LocalPullDeps;
  tmp: string;
  /** Runs the puller once and waits for the imports of what it landed. */
  pullOnce(spec: Pullers.PullerSpec): Promise<Pullers.PullResult[]>;
  close(): Promise<void>;
}

/** A local platform in a scratch home, with the deps a puller runs with (alerts to the platform's SNS endpoint). */
export async function startPullerPlatform(prefix: string): Promise<PullerPlatform> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
  process.env.LOG_LEVEL = "silent";
  const platform = await LocalPlatform.start({
    home: path.join(tmp, "home"),
    chunkRows: 100,
    retryIntervalMs: 20,
    log: () => undefined,
  });
  const deps: LocalPullDeps = {
    pool: platform.pool,
    store: s3Store(platform.s3),
    settings: { bucket: platform.bucket },
    retryMinMs: 50,
    notifier: snsNotifier(createSnsClient(process.env.SNS_ENDPOINT), platform.topicArn),
  };
  return {
    platform,
    deps,
    tmp,
    pullOnce: async (spec) => waitForPulledImports(platform.pool, await runPuller(spec, deps, "cli"), 120_000),
    async close() {
      await platform.close();
      if (platform.pg?.dataDir) rmSync(platform.pg.dataDir, { recursive: true, force: true });
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}
