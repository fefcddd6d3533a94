import { Command } from "commander";
import { login } from "../remote";
import { readStdin } from "./user";

/** `leadpipe login --stage NAME`: a token for a deployed stage's console, so status, replay and sql work there. */
export function loginCommand(): Command {
  return new Command("login")
    .description(
      "log in to a deployed stage's console (its Cognito users; the local console's users for a local URL) " +
        "and keep the token in LEADPIPE_HOME/stages/NAME.json (0600) for status, replay and sql --stage NAME",
    )
    .requiredOption("--stage <name>", "the stage (tenant)")
    .option("--url <url>", "the console's URL (the stack output ConsoleUrl); remembered for the stage")
    .requiredOption("--username <name>", "your console user name")
    .option("--password-stdin", "read the password from stdin (the only way: never on the command line)")
    .action(async (opts: { stage: string; url?: string; username: string; passwordStdin?: boolean }) => {
      if (!opts.passwordStdin) throw new Error("pipe the password in with --password-stdin");
      const l = await login(opts.stage, opts.url, opts.username, await readStdin());
      process.stdout.write(`logged in to ${l.stage} (${l.url}) as ${l.username} (${l.role}) until ${l.expiresAt}\n`);
    });
}
