import os from "node:os";
import type { Writable } from "node:stream";
import { Command, InvalidArgumentError } from "commander";
import { createPool, People, Roles, type Pool } from "@leadpipe/core";
import { homePaths } from "../home";
import { localSecrets } from "../secrets";
import { withPool } from "./connect";
import { wholeNumber } from "./numbers";

const { Steward } = People;

/** Runs `fn` with a pool logged in as the pipeline role (DML and EXECUTE, no DDL) on the running or a started platform. */
export const withPipelinePool = <T>(fn: (pool: Pool) => Promise<T>): Promise<T> => withPool(fn, "pipeline");

type WithPool = <T>(fn: (pool: Pool) => Promise<T>) => Promise<T>;

const personId = wholeNumber(1);
const text = (what: string) => (v: string) => {
  if (!v.trim()) throw new InvalidArgumentError(`${what} must not be blank`);
  return v;
};

/** The steward's commands: find and read a golden record with its lineage, merge, split and override. */
export function personCommand(out: Writable = process.stdout, withPool: WithPool = withPipelinePool): Command {
  const byOption = ["--by <name>", "who acts, for the audit log (default: your login name)"] as const;
  const steward = (by?: string): People.Steward.Steward => ({ username: by ?? os.userInfo().username, via: "cli" });
  const print = (json: boolean | undefined, value: unknown, line: string) =>
    out.write(json ? `${JSON.stringify(value)}\n` : `${line}\n`);

  const show = new Command("show")
    .description(
      "a golden record: its fields and where each came from, its source records (import, file, row, fields supplied), " +
        "the links that joined them, merges and history",
    )
    .argument("[id]", "the golden record's id", personId)
    .option("--phone <phone>", "the golden records holding this phone (any common way of writing it)")
    .option("--email <email>", "the golden records holding this e-mail address")
    .option("--name <name>", 'the golden records one of whose records has this name ("Ada Lovelace", or a surname)')
    .option("--json", "one JSON document per golden record and line")
    .action(async (id: number | undefined, opts: { phone?: string; email?: string; name?: string; json?: boolean }) => {
      const queries: People.Steward.PersonQuery[] = [
        ...(id === undefined ? [] : [{ id }]),
        ...(opts.phone ? [{ phone: opts.phone }] : []),
        ...(opts.email ? [{ email: opts.email }] : []),
        ...(opts.name ? [{ name: opts.name }] : []),
      ];
      if (queries.length !== 1) throw new Error("name one person: an id, or one of --phone, --email, --name");
      const query = queries[0]!;
      const docs = await withPool(async (pool) => {
        const ids = await Steward.findPersons(pool, query);
        const found: People.Steward.PersonDocument[] = [];
        for (const p of ids) {
          const doc = await Steward.personDocument(pool, p);
          if (doc) found.push(doc);
        }
        return found;
      });
      if (docs.length === 0) throw new Error(`no golden record matches ${JSON.stringify(query)}`);
      for (const d of docs) out.write(opts.json ? `${JSON.stringify(d)}\n` : describePerson(d));
    });

  const merge = new Command("merge")
    .description("merge golden record B into A (A keeps its id; B's records move over; undo with `person unmerge`)")
    .argument("<A>", "the golden record that stays", personId)
    .argument("<B>", "the golden record merged into A", personId)
    .requiredOption("--reason <text>", "why, for the audit log", text("the reason"))
    .option(...byOption)
    .option("--json", "print the result as JSON")
    .action(async (a: number, b: number, opts: { reason: string; by?: string; json?: boolean }) => {
      const r = await withPool((pool) => Steward.merge(pool, steward(opts.by), a, b, opts.reason));
      print(opts.json, { survivor: a, absorbed: b, ...r }, `merged person ${b} into ${a} (merge ${r.merge_id})`);
    });

  const unmerge = new Command("unmerge")
    .description(
      "take a record out of a golden record: the merge that brought it in is undone, or the record becomes a golden " +
        "record of its own; the records that leave are never linked again to those that stay",
    )
    .argument("<id>", "the golden record", personId)
    .requiredOption("--record <record_id>", "the source record to take out (see `person show`)", wholeNumber(1))
    .requiredOption("--reason <text>", "why, for the audit log", text("the reason"))
    .option(...byOption)
    .option("--json", "print the result as JSON")
    .action(async (id: number, opts: { record: number; reason: string; by?: string; json?: boolean }) => {
      const r = await withPool((pool) => Steward.unmerge(pool, steward(opts.by), id, opts.record, opts.reason));
      const how = r.merge_id === null ? "split off" : `restored by undoing merge ${r.merge_id}`;
      print(opts.json, r, `record(s) ${r.records.join(", ")} now person ${r.person_id} (${how})`);
    });

  const override = new Command("override")
    .description("set one golden field by hand: it wins survivorship over every source, now and after later imports")
    .argument("<id>", "the golden record", personId)
    .requiredOption("--field <field>", `one of ${Steward.OVERRIDE_FIELDS.join(", ")}`)
    .option("--value <value>", "the value (a date of birth as YYYY-MM-DD)")
    .option("--blank", "blank the field instead")
    .requiredOption("--reason <text>", "why, for the audit log", text("the reason"))
    .option(...byOption)
    .option("--json", "print the result as JSON")
    .action(
      async (
        id: number,
        opts: { field: string; value?: string; blank?: boolean; reason: string; by?: string; json?: boolean },
      ) => {
        if ((opts.value === undefined) === !opts.blank) throw new Error("give one of --value and --blank");
        const value = opts.blank ? null : opts.value!;
        const r = await withPool((pool) =>
          Steward.override(pool, steward(opts.by), id, opts.field, value, opts.reason),
        );
        print(opts.json, { person_id: id, ...r }, `person ${id}: ${r.field} = ${r.value ?? "(blank)"}`);
      },
    );

  return new Command("person")
    .description("golden records for stewards: show with lineage, merge, unmerge, override (every action audited)")
    .addCommand(show)
    .addCommand(merge)
    .addCommand(unmerge)
    .addCommand(override);
}

/** The lineage document as a person reads it. */
export function describePerson(d: People.Steward.PersonDocument): string {
  const lines: string[] = [`person ${d.person_id}`];
  for (const [field, value] of Object.entries(d.golden)) {
    if (value === null && !d.provenance[field]) continue;
    const p = d.provenance[field];
    const from = p ? (p.record_id === null ? `  (${p.rule})` : `  (record ${p.record_id}, ${p.rule})`) : "";
    lines.push(`  ${field.padEnd(14)} ${value ?? "(blank)"}${from}`);
  }
  lines.push("", `records (${d.records.length})`);
  for (const r of d.records) {
    const where = `${r.file ?? `import ${r.import_id}`} row ${r.row}`;
    const merged = r.merged_from
      ? `, merged from person ${r.merged_from.person_id} (merge ${r.merged_from.merge_id})`
      : "";
    lines.push(`  record ${r.record_id}  ${r.source_kind}:${r.source_key}  ${where}  import ${r.import_id}${merged}`);
    lines.push(
      `    supplied: ${
        Object.entries(r.supplied)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ") || "(nothing)"
      }`,
    );
    if (r.survived.length > 0)
      lines.push(`    survived: ${r.survived.map((s) => `${s.field} (${s.rule})`).join(", ")}`);
  }
  lines.push("", `links (${d.links.length})`);
  for (const l of d.links) {
    lines.push(`  ${l.record_id} ~ ${l.matched_record_id}  ${l.tier} ${l.score}  ${l.reason}`);
    lines.push(`    ${l.fields.map((f) => `${f.field} ${f.comparison}`).join(", ")}`);
  }
  if (d.merges.length > 0) {
    lines.push("", `merges (${d.merges.length})`);
    for (const m of d.merges) {
      const undone = m.unmerged_at ? `, undone ${m.unmerged_at} by ${m.unmerged_by}` : "";
      lines.push(
        `  merge ${m.merge_id}: person ${m.absorbed_id} into ${m.survivor_id}, records ${m.records.join(", ")}, ` +
          `${m.cause}, ${m.merged_at}${undone}`,
      );
    }
  }
  if (d.overrides.length > 0) {
    lines.push("", "overrides");
    for (const o of d.overrides)
      lines.push(
        `  ${o.field} = ${o.value ?? "(blank)"} by ${o.set_by}${o.reason ? `: ${o.reason}` : ""} (${o.set_at})`,
      );
  }
  lines.push("", `history (${d.history.length})`);
  for (const h of d.history) lines.push(`  ${h.at}  ${h.action}${h.merge_id ? ` merge ${h.merge_id}` : ""}`);
  return `${lines.join("\n")}\n`;
}
