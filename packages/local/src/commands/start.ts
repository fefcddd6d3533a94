import { copyFileSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { LocalPlatform } from "../platform";
import { ingestFiles, quietLog } from "./ingest";
import { serveConsole } from "../console";

const sampleDay = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../fixtures/sample-day");

/** On the first run of a LEADPIPE_HOME, the sample day goes into the inbox so there is something to see. */
function seedInbox(platform: LocalPlatform): void {
  const marker = path.join(platform.paths.root, ".seeded");
  if (existsSync(marker)) return;
  for (const f of readdirSync(sampleDay).sort()) copyFileSync(path.join(sampleDay, f), path.join(platform.paths.inbox, f));
  writeFileSync(marker, new Date().toISOString() + "\n");
}

async function drainInbox(platform: LocalPlatform): Promise<number> {
  const files = platform.inboxFiles();
  if (files.length === 0) return 0;
  process.stdout.write(`\ningesting ${files.length} file(s) from ${platform.paths.inbox}\n`);
  const staged = files.map((f) => {
    platform.archive(f);
    return path.join(platform.paths.processed, new Date().toISOString().slice(0, 10), path.basename(f));
  });
  await ingestFiles(platform, staged.filter((f) => existsSync(f)), { progress: process.stderr.isTTY });
  return files.length;
}

export function startCommand(): Command {
  return new Command("start")
    .description("boot the local platform, ingest what is in the inbox, then keep watching it (Ctrl-C stops)")
    .option("--once", "process the inbox and exit")
    .option("--no-console", "do not serve the operations console")
    .action(async (opts: { once?: boolean; console: boolean }) => {
      const platform = await LocalPlatform.start({ log: quietLog(false) });
      process.stdout.write(`leadpipe local platform on ${platform.paths.root}\n  inbox: ${platform.paths.inbox}\n  alerts: ${platform.paths.alerts}\n  database: ${process.env.DATABASE_URL?.replace(/:[^:@/]+@/, ":***@")}\n`);
      const web = opts.once || !opts.console ? undefined : await serveConsole(platform).catch(async (err: Error) => {
        await platform.close();
        throw err;
      });
      if (web) process.stdout.write(`  console: ${web.url}  (add a login: npx leadpipe user add NAME --role ROLE)\n`);
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        process.stdout.write("\nstopping…\n");
        await web?.close();
        await platform.close();
      };
      try {
        seedInbox(platform);
        await drainInbox(platform);
        if (opts.once) {
          // The people consumer runs after the imports; --once waits for it before exiting.
          await platform.peopleIdle();
          const { rows: [p] } = await platform.pool.query<{ imports: number; persons: number }>(
            "SELECT (SELECT count(*) FROM people_resolutions)::int AS imports, (SELECT count(*) FROM persons)::int AS persons");
          process.stdout.write(`
people: ${p!.persons} golden records from ${p!.imports} resolved import(s)
`);
          return;
        }
        process.stdout.write(`\nwatching ${platform.paths.inbox} (Ctrl-C to stop)\n`);
        await new Promise<void>((resolve) => {
          process.once("SIGINT", () => resolve());
          process.once("SIGTERM", () => resolve());
          const tick = async () => {
            if (stopping) return;
            try {
              await drainInbox(platform);
            } catch (err) {
              process.stderr.write(`inbox: ${(err as Error).message}\n`);
            }
            setTimeout(tick, 1000).unref();
          };
          void tick();
        });
      } finally {
        await stop();
      }
    });
}
