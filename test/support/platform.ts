import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { LocalPlatform, type LocalOptions } from "../../packages/local/src/platform";

export interface PlatformUse {
  /** A fresh folder under the system's temp folder, removed after the file's tests. */
  tmp: string;
  platform: LocalPlatform;
}

/**
 * Boots the local platform for a test file (beforeAll) in a fresh LEADPIPE_HOME, quiet and with
 * short retry pauses, and ends it and its folders afterwards. With `faults`, LEADPIPE_FAULTS_DIR
 * points at an empty folder of the file's own. Read `platform` and `tmp` inside hooks and tests.
 */
export function usePlatform(
  prefix: string,
  options: Omit<LocalOptions, "home"> & { faults?: boolean; timeoutMs?: number } = {},
  ready?: (platform: LocalPlatform, tmp: string) => void,
): PlatformUse {
  const { faults, timeoutMs, ...local } = options;
  const use = {} as PlatformUse;
  beforeAll(async () => {
    use.tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
    process.env.LOG_LEVEL = "silent";
    if (faults) {
      process.env.LEADPIPE_FAULTS_DIR = path.join(use.tmp, "faults");
      mkdirSync(process.env.LEADPIPE_FAULTS_DIR);
    }
    use.platform = await LocalPlatform.start({
      home: path.join(use.tmp, "home"),
      retryIntervalMs: 20,
      log: () => undefined,
      ...local,
    });
    ready?.(use.platform, use.tmp);
  }, timeoutMs);
  afterAll(async () => {
    await use.platform?.close();
    if (use.tmp) rmSync(use.tmp, { recursive: true, force: true });
    if (use.platform?.pg?.dataDir) rmSync(use.platform.pg.dataDir, { recursive: true, force: true });
  });
  return use;
}
