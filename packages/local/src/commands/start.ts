import { copyFileSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { LocalPlatform } from "../platform";
import { quietLog } from "./connect";
import { waitWithProgress } from "./ingest";
import { reconciliationTable } from "../report";
import { serveConsole } from "../console";

const sampleDay = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../fixtures/sample-day");

/** On the first run of a LEADPIPE_HOME, the sample day goes into the inbox so there is something to see. */
function seedInbox(platform: LocalPlatform): void {
  const marker = path.join(platform.paths.root, ".seeded");
  if (existsSync(marker)) return;
  for (const f of readdirSync(sampleDay).sort())
    copyFileSync(path.join(sampleDay, f), path.join(platform.paths.inbox, f));
  writeFileSync(marker, new Date().toISOString() + "\n");
}

/** One pass of the inbox watcher: lands what it can, says what it could not (it stays in the inbox), waits for the imports. */
async function drainInbox(platform: LocalPlatform): Promise<number> {
  // Without its database the platform takes no files: they wait in the inbox (the loss is alerted once).
  if (!(await platform.takingFiles())) return 0;
  const { landed, failed } = await platform.landInbox();
  // A file that cannot be landed is said once (and alerted once), not on every pass.
  for (const f of failed) if (f.alerted) process.stderr.write(`inbox: ${f.file} stays in the inbox: ${f.error}\n`);
  if (landed.length > 0) {
    process.stdout.write(`\ningesting ${landed.length} file(s) from ${platform.paths.inbox}\n`);
    const rows = await waitWithProgress(platform, process.stderr.isTTY, (onProgress) =>
      platform.waitFor(landed, onProgress),
    );
    process.stdout.write(reconciliationTable(rows) + "\n");
  }
  return landed.length;
}

export function startCommand(): Command {
  return new Command("start")
    .description("boot the local platform, ingest what is in the inbox, then keep watching it (Ctrl-C stops)")
    .option("--once", "process the inbox and exit")
    .option("--no-console", "do not serve the operations console")
    .action(async (opts: { once?: boolean; console: boolean }) => {
      const platform = await LocalPlatform.start({ log: quietLog(false) });
      process.stdout.write(
        `leadpipe local platform on ${platform.paths.root}\n  inbox: ${platform.paths.inbox}\n  alerts: ${platform.paths.alerts}\n  database: ${process.env.DATABASE_URL?.replace(/:[^:@/]+@/, ":***@")}\n`,
      );
      const web =
        opts.once || !opts.console
          ? undefined
          : await serveConsole(platform).catch(async (err: Error) => {
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
      // Ctrl-C or a TERM while the inbox drains (--once, or the first drain): stop cleanly (the
      // database, runtime.json) before exiting; the watch loop below handles its own.
      const onSignal = (signal: NodeJS.Signals) => {
        if (watching) return;
        void stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
      };
      let watching = false;
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        seedInbox(platform);
        if (opts.once) await drainInbox(platform);
        else {
          // As every later pass: a failure (the database lost mid-import) is said, the platform keeps watching.
          await drainInbox(platform).catch((err: Error) => process.stderr.write(`inbox: ${err.message}\n`));
        }
        if (opts.once) {
          // The people consumer runs after the imports; --once waits for it before exiting.
          await platform.peopleIdle();
          const {
            rows: [p],
          } = await platform.pool.query<{ imports: number; persons: number }>(
            "SELECT (SELECT count(*) FROM people_resolutions)::int AS imports, (SELECT count(*) FROM persons)::int AS persons",
          );
          process.stdout.write(`
people: ${p!.persons} golden records from ${p!.imports} resolved import(s)
`);
          return;
        }
        process.stdout.write(`\nwatching ${platform.paths.inbox} (Ctrl-C to stop)\n`);
        watching = true;
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
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
