import { mkdirSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { writePartnerB } from "../generate/partner-b";

export function generateCommand(): Command {
  return new Command("generate")
    .description("write a deterministic day of partner files of any size")
    .requiredOption("--day <YYYY-MM-DD>", "the business day")
    .option("--rows <n>", "rows per file", "1000")
    .option("--bad-every <n>", "make every n-th row invalid (0: none)", "0")
    .requiredOption("--out <dir>", "output folder")
    .action(async (opts: { day: string; rows: string; out: string; badEvery: string }) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(opts.day)) throw new Error("--day must be YYYY-MM-DD");
      mkdirSync(opts.out, { recursive: true });
      const file = path.join(opts.out, `partner-b-mortgages-${opts.day}.csv`);
      await writePartnerB(file, { day: opts.day, rows: Number(opts.rows), badEvery: Number(opts.badEvery) });
      process.stdout.write(`${file}\n`);
    });
}
