import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { Command } from "commander";
import { parse as csvParser } from "csv-parse";
import { Imb, csvLine } from "@leadpipe/core";

/** Where the command reads and writes; tests pass their own streams. */
export interface ImbCommandIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
}

/**
 * `leadpipe imb encode <tracking> [routing]`, `leadpipe imb decode <bars>`, and their batch
 * forms over CSV (`--csv`: stdin to stdout). In batch mode a bad row gets its reason in the
 * `error` column and the run goes on; only input that is not readable CSV fails the command.
 */
export function imbCommand(io: ImbCommandIo = {}): Command {
  const stdin = io.stdin ?? process.stdin;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const output = {
    writeOut: (text: string) => void stdout.write(text),
    writeErr: (text: string) => void stderr.write(text),
  };

  const encode = new Command("encode")
    .description("tracking code (20 digits) and routing code (0, 5, 9 or 11 digits) to the 65-bar F/A/D/T string")
    .argument("[tracking]", "20-digit tracking code")
    .argument("[routing]", "routing code: ZIP, ZIP+4 or ZIP+4+delivery point", "")
    .option("--csv", "read CSV on stdin with columns tracking,routing; write it to stdout with bars and error added")
    .configureOutput(output)
    .action(async (tracking: string | undefined, routing: string, options: { csv?: boolean }) => {
      if (options.csv) {
        if (tracking !== undefined) throw new Error("imb encode --csv reads stdin: give no tracking code");
        await transformCsv({ stdin, stdout, stderr }, ENCODE_BATCH);
        return;
      }
      if (tracking === undefined) throw new Error("imb encode: give a tracking code, or --csv");
      stdout.write(`${Imb.encode(tracking.trim(), routing.trim())}\n`);
    });

  const decode = new Command("decode")
    .description("65-bar string (F/A/D/T, or 0-3 for T/D/A/F) to tracking code, routing code and their fields")
    .argument("[bars]", "the 65 bars")
    .option(
      "--csv",
      "read CSV on stdin with a bars column; write it to stdout with tracking, routing, repaired and error added",
    )
    .option("--no-repair", "reject a barcode with a wrong bar instead of repairing it")
    .option("--json", "print the decoded fields as JSON")
    .configureOutput(output)
    .action(async (bars: string | undefined, options: { csv?: boolean; repair: boolean; json?: boolean }) => {
      if (options.csv) {
        if (bars !== undefined) throw new Error("imb decode --csv reads stdin: give no bars");
        await transformCsv({ stdin, stdout, stderr }, decodeBatch(options.repair));
        return;
      }
      if (bars === undefined) throw new Error("imb decode: give the bars, or --csv");
      const decoded = Imb.decode(bars.trim(), { repair: options.repair });
      stdout.write(options.json ? `${JSON.stringify(decoded, null, 2)}\n` : describe(decoded));
    });

  return new Command("imb")
    .description("USPS Intelligent Mail barcode: encode and decode, one code or a CSV of them")
    .configureOutput(output)
    .addCommand(encode)
    .addCommand(decode);
}

function describe(decoded: Imb.Decoded): string {
  const rows: [string, string][] = [
    ["tracking", decoded.tracking],
    ["routing", decoded.routing],
    ["barcode id", decoded.barcodeId],
    ["service type id", decoded.serviceTypeId],
    ["mailer id", decoded.mailerId],
    ["serial number", decoded.serialNumber],
    ["zip", decoded.zip],
    ["plus4", decoded.plus4],
    ["delivery point", decoded.deliveryPoint],
    ["repaired", decoded.repaired ? "yes: one bar was wrong, and only one correction passes the checks" : "no"],
  ];
  return rows.map(([name, value]) => `${name.padEnd(16)}${value}\n`).join("");
}

// ---------------------------------------------------------------------------------------------
// Batch over CSV.

/** One batch mode: the columns it reads and the columns it adds, per row. */
interface Batch {
  name: string;
  /** Input columns by name; the first is required, the others are optional. */
  reads: [string, ...string[]];
  adds: string[];
  /** The added cells for a row, from its input cells ("" when a column is absent); the last is the error. */
  row(cells: string[]): string[];
}

const ENCODE_BATCH: Batch = {
  name: "imb encode",
  reads: ["tracking", "routing"],
  adds: ["bars", "error"],
  row([tracking, routing]) {
    try {
      return [Imb.encode(tracking!.trim(), routing!.trim()), ""];
    } catch (error) {
      if (error instanceof Imb.Error) return ["", error.message];
      throw error;
    }
  },
};

function decodeBatch(repair: boolean): Batch {
  return {
    name: "imb decode",
    reads: ["bars"],
    adds: ["tracking", "routing", "repaired", "error"],
    row([bars]) {
      const result = Imb.tryParse(bars, { repair });
      return result.ok ? [result.tracking, result.routing, String(result.repaired), ""] : ["", "", "", result.error];
    },
  };
}

interface Streams {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

async function transformCsv({ stdin, stdout, stderr }: Streams, batch: Batch): Promise<void> {
  const started = performance.now();
  const out = new BufferedWriter(stdout);
  const parser = stdin.pipe(
    csvParser({ bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true }),
  );
  let header: string[] | undefined;
  let positions: number[] = [];
  let rows = 0;
  let failed = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === undefined) {
        header = record;
        const names = header.map((name) => name.trim().toLowerCase());
        positions = batch.reads.map((column) => names.indexOf(column));
        if (positions[0] === -1) {
          throw new Error(
            `${batch.name} --csv: the input has no ${batch.reads[0]} column (header: ${header.join(",")})`,
          );
        }
        await out.write(csvLine([...header, ...batch.adds]));
        continue;
      }
      rows++;
      const cells = record.length === header.length ? record : fitToHeader(record, header.length);
      const added =
        record.length > header.length
          ? [
              ...batch.adds.slice(1).map(() => ""),
              `csv: row has ${record.length} fields, the header ${header.length} (extra fields dropped)`,
            ]
          : batch.row(positions.map((position) => (position < 0 ? "" : cells[position]!)));
      if (added[added.length - 1]) failed++;
      await out.write(csvLine([...cells, ...added]));
    }
  } catch (error) {
    await out.flush();
    if (!(error instanceof Error) || !("code" in error) || !String(error.code).startsWith("CSV_")) throw error;
    throw new Error(
      `${batch.name} --csv: the input is not readable CSV (${rows} rows written before the error): ${error.message}`,
      {
        cause: error,
      },
    );
  }
  if (header === undefined) throw new Error(`${batch.name} --csv: the input is empty (expected a header row)`);
  await out.flush();
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0 ? Math.round(rows / seconds).toLocaleString("en-US") : "-";
  stderr.write(
    `${batch.name}: ${rows.toLocaleString("en-US")} rows, ${(rows - failed).toLocaleString("en-US")} ok, ` +
      `${failed.toLocaleString("en-US")} with an error (${seconds.toFixed(2)} s, ${rate} rows/s)\n`,
  );
}

function fitToHeader(record: string[], length: number): string[] {
  const cells = record.slice(0, length);
  while (cells.length < length) cells.push("");
  return cells;
}

/** Collects output lines into large writes and waits when the stream asks it to. */
class BufferedWriter {
  private pending = "";
  constructor(private readonly stream: Writable) {}

  async write(text: string): Promise<void> {
    this.pending += text;
    if (this.pending.length >= 65_536) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = this.pending;
    this.pending = "";
    if (!this.stream.write(chunk)) await once(this.stream, "drain");
  }
}
