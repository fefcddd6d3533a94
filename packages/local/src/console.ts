import { existsSync, readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { createLogger, createPool, type Import, type Pool } from "@leadpipe/core";
import { s3Store } from "@leadpipe/core/adapters/s3";
import { startConsole, type ConsoleDeps, type RunningConsole, type ServeOptions } from "@leadpipe/console";
import type { Alert, LocalPlatform } from "./platform";
import { runPuller } from "./pullers";

export const DEFAULT_CONSOLE_PORT = 8787;

/**
 * The console's ports on the local platform: the same upload, replay and hand-off paths as the CLI; its
 * pages and logins as leadpipe_console (`pool`), the steward's and marketer's actions as the pipeline role.
 */
export function localConsoleDeps(platform: LocalPlatform, pool: Pool, writer: Pool): ConsoleDeps {
  const pullers = platform.pullers().filter((s) => s.direction === "pull");
  return {
    pool,
    writer,
    readonlyUrl: platform.readonlyUrl,
    store: s3Store(platform.s3),
    settings: { bucket: platform.bucket },
    log: createLogger({ service: "leadpipe-console" }),
    uploadDir: path.join(platform.paths.root, "uploads"),
    upload: async (file, uploadedBy) => ({ key: (await platform.drop(file, undefined, uploadedBy)).key }),
    replay: async ({ importId, mode, requestedBy, fixedFile }) => {
      let fixedKey: string | undefined;
      if (fixedFile) {
        fixedKey = `replays/uploads/${randomUUID()}/${path.basename(fixedFile)}`;
        await platform.put(fixedKey, fixedFile);
      }
      return (await platform.invoke("replay", { importId, mode, fixedKey, requestedBy })) as Import.ReplayResult;
    },
    handoff: () =>
      platform.invoke("lead-handoff", {
        "detail-type": "Scheduled Event",
        source: "aws.events",
        time: new Date().toISOString(),
      }),
    pullers,
    pullNow: async (name) => {
      const spec = pullers.find((s) => s.name === name);
      if (!spec) throw new Error(`no puller ${name} in pullers.json`);
      return runPuller(spec, platform.pullDeps(), "cli");
    },
    alerts: async (limit) => {
      const file = platform.paths.alerts;
      if (!existsSync(file)) return [];
      const lines = readFileSync(file, "utf8").trimEnd().split("\n").filter(Boolean).slice(-limit).reverse();
      return lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Alert];
        } catch {
          return [];
        }
      });
    },
  };
}

/**
 * Serves the console for this platform on 127.0.0.1: LEADPIPE_CONSOLE_PORT, else 8787, else (taken) a
 * free port.
 */
export async function serveConsole(
  platform: LocalPlatform,
  opts: Omit<ServeOptions, "host"> = {},
): Promise<RunningConsole> {
  const env = process.env.LEADPIPE_CONSOLE_PORT;
  if (env !== undefined && !/^\d{1,5}$/.test(env))
    throw new Error(`LEADPIPE_CONSOLE_PORT must be a port number, got "${env}"`);
  const wanted = opts.port ?? (env !== undefined ? Number(env) : DEFAULT_CONSOLE_PORT);
  // Pools of their own: pages and logins never wait behind the pipeline's handlers for a connection.
  const pool = createPool(platform.consoleUrl, 6);
  const writer = createPool(platform.pipelineUrl, 2);
  const closePools = () => Promise.all([pool.end(), writer.end()]);
  const deps = localConsoleDeps(platform, pool, writer);
  let web: RunningConsole;
  try {
    web = await startConsole(deps, { ...opts, port: wanted });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE" || env !== undefined || opts.port !== undefined) {
      await closePools();
      throw err;
    }
    web = await startConsole(deps, { ...opts, port: 0 });
  }
  return {
    ...web,
    close: async () => {
      await web.close();
      await closePools();
    },
  };
}
