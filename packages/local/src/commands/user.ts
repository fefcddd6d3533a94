import crypto from "node:crypto";
import os from "node:os";
import { Command } from "commander";
import { ROLES, addUser, audit, disableUser, listUsers } from "@leadpipe/console";
import { withPool } from "./connect";
import { formatRows } from "./sql";

/** The whole of stdin (a password piped in: never on the command line, where `ps` and the shell history see it). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

export function userCommand(): Command {
  const user = new Command("user").description("the operations console's logins (roles: " + ROLES.join(", ") + ")");
  user
    .command("add")
    .description("add a login, or set an existing one's role and password (its open sessions end)")
    .argument("<name>", "user name (a-z, 0-9, . _ @ -)")
    .requiredOption("--role <role>", ROLES.join(" | "))
    .option("--password-stdin", "read the password from stdin (else one is generated and printed once)")
    .action(async (name: string, opts: { role: string; passwordStdin?: boolean }) => {
      const generated = !opts.passwordStdin;
      const password = generated ? crypto.randomBytes(18).toString("base64url") : await readStdin();
      const r = await withPool(async (pool) => {
        const r = await addUser(pool, name, opts.role, password);
        await audit(pool, {
          username: `cli:${os.userInfo().username}`,
          action: r.created ? "user.add" : "user.update",
          target: r.user.username,
          outcome: "ok",
          detail: { role: r.user.role },
        });
        return r;
      });
      process.stdout.write(`${r.created ? "added" : "updated"} ${r.user.username} (${r.user.role})\n`);
      if (generated) process.stdout.write(`password (shown once): ${password}\n`);
    });
  user
    .command("disable")
    .description("disable a login (its sessions end at once)")
    .argument("<name>")
    .action(async (name: string) => {
      const done = await withPool(async (pool) => {
        const d = await disableUser(pool, name);
        if (d)
          await audit(pool, {
            username: `cli:${os.userInfo().username}`,
            action: "user.disable",
            target: name,
            outcome: "ok",
          });
        return d;
      });
      process.stdout.write(done ? `disabled ${name}\n` : `${name}: no such enabled user\n`);
    });
  user
    .command("list")
    .description("the logins, their roles and last logins")
    .action(async () => {
      const rows = await withPool((pool) => listUsers(pool));
      process.stdout.write(formatRows(["username", "role", "created_at", "last_login", "disabled_at"], rows) + "\n");
    });
  return user;
}
