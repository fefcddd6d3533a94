import net from "node:net";
import pg from "pg";
import Cursor from "pg-cursor";
import { copyTable, type CopiedTable } from "./copy";

/**
 * Ad-hoc SQL for people (the CLI's `leadpipe sql`, the console later), in layers that each hold alone:
 *  1. the text must start with a query keyword (SELECT, WITH, VALUES, TABLE, EXPLAIN, SHOW);
 *  2. it runs through the extended protocol (a cursor), whose Parse message takes exactly one
 *     statement: `COMMIT; DELETE …` is refused by the server itself;
 *  3. inside BEGIN READ ONLY, as leadpipe_readonly (never a superuser: checked before anything runs),
 *     a role with SELECT only and none of the server-file, program, large-object or signalling rights;
 *  4. the timeout is the server's statement_timeout and a client-side deadline for the whole
 *     statement that cancels it (the server's timer alone could be lifted by set_config() inside it).
 * Rows are fetched in batches from the cursor and handed on one by one: memory stays flat, and
 * past `limit` rows the statement stops and `more` says that rows were left.
 */

export class SqlRefusedError extends Error {
  override name = "SqlRefusedError";
}
export class SqlTimeoutError extends Error {
  override name = "SqlTimeoutError";
}

const QUERY_KEYWORDS = new Set(["select", "with", "values", "table", "explain", "show"]);

/** The first keyword of the text, past whitespace, comments (nested block comments too) and opening parentheses. */
export function firstKeyword(text: string): string {
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s|\(/.test(c)) i++;
    else if (text.startsWith("--", i)) {
      const nl = text.indexOf("\n", i);
      i = nl < 0 ? text.length : nl + 1;
    } else if (text.startsWith("/*", i)) {
      let depth = 0;
      do {
        if (text.startsWith("/*", i)) {
          depth++;
          i += 2;
        } else if (text.startsWith("*/", i)) {
          depth--;
          i += 2;
        } else i++;
      } while (depth > 0 && i < text.length);
    } else break;
  }
  return /^[A-Za-z_]+/.exec(text.slice(i))?.[0].toLowerCase() ?? "";
}

/** Refuses anything that is not a query, with the reason, before it is sent. */
export function checkStatement(text: string): void {
  const word = firstKeyword(text);
  if (!word) throw new SqlRefusedError("refused: no SQL statement given");
  if (!QUERY_KEYWORDS.has(word)) {
    throw new SqlRefusedError(
      `refused: leadpipe sql runs one query (SELECT, WITH, VALUES, TABLE, EXPLAIN or SHOW), not ${word.toUpperCase()}`,
    );
  }
}

export interface AdhocOptions {
  /** The whole statement, every fetch of rows included (as PostgreSQL's statement_timeout counts a cursor). */
  timeoutMs: number;
  /** At most this many rows are handed on; 0: no cap. */
  limit: number;
  params?: unknown[];
  /** Rows per fetch from the cursor. */
  batchRows?: number;
  /** Tests only: send the text even when it is not a query, to prove the server's layers refuse it too. */
  skipKeywordCheck?: boolean;
}

export interface AdhocResult {
  fields: string[];
  rows: number;
  /** True when the statement had more rows than `limit`. */
  more: boolean;
}

/**
 * The layers every ad-hoc statement runs inside: a connection as `connection`'s role (refused
 * before anything runs when it is a superuser), BEGIN READ ONLY, the statement timeout; rolled
 * back and closed after `work`, which gets the client and the statement's deadline.
 */
async function readOnlySession<T>(
  connection: string | pg.ClientConfig,
  timeoutMs: number,
  work: (client: pg.Client, deadline: number) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    ...(typeof connection === "string" ? { connectionString: connection } : connection),
    application_name: "leadpipe sql",
  });
  client.on("error", () => undefined);
  await client.connect();
  try {
    const {
      rows: [me],
    } = await client.query<{ rolsuper: boolean; name: string }>(
      "SELECT rolsuper, rolname AS name FROM pg_roles WHERE rolname = current_user",
    );
    if (!me || me.rolsuper)
      throw new SqlRefusedError(`refused: ad-hoc SQL never runs as a superuser (connected as ${me?.name ?? "?"})`);
    await client.query("BEGIN TRANSACTION READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
    // PostgreSQL's statement_timeout covers the whole statement (every fetch until the end): the client's too.
    return await work(client, Date.now() + timeoutMs);
  } catch (err) {
    throw explain(err, timeoutMs);
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

function wholeTimeout(options: AdhocOptions): number {
  const timeoutMs = Math.floor(options.timeoutMs);
  if (!(timeoutMs >= 1)) throw new Error(`timeout must be at least 1 ms, got ${options.timeoutMs}`);
  return timeoutMs;
}

/** Runs one read-only statement as the connection's role and hands each row to `onRow` (awaited: backpressure). */
export async function stream(
  connection: string | pg.ClientConfig,
  text: string,
  options: AdhocOptions,
  onFields: (fields: string[]) => void | Promise<void>,
  onRow: (row: Record<string, unknown>) => void | Promise<void>,
): Promise<AdhocResult> {
  if (!options.skipKeywordCheck) checkStatement(text);
  const timeoutMs = wholeTimeout(options);
  return readOnlySession(connection, timeoutMs, async (client, deadline) => {
    const cursor = client.query(new Cursor(text, options.params as unknown[] | undefined));
    const batch = Math.max(1, options.batchRows ?? 1000);
    let rows = 0;
    let fields: string[] | undefined;
    for (;;) {
      const got = await withCancel(client, deadline, timeoutMs, cursor.read(batch));
      if (!fields) {
        fields = (cursor as unknown as { _result?: pg.QueryResult })._result?.fields?.map((f) => f.name) ?? [];
        await onFields(fields);
      }
      for (const row of got) {
        if (options.limit > 0 && rows >= options.limit) {
          await cursor.close().catch(() => undefined);
          return { fields, rows, more: true };
        }
        await onRow(row);
        rows++;
      }
      if (got.length < batch) break;
    }
    await cursor.close().catch(() => undefined);
    return { fields: fields ?? [], rows, more: false };
  });
}

/** `stream`, collected: for small answers (the table output, status). */
export async function query(connection: string | pg.ClientConfig, text: string, options: AdhocOptions) {
  const rows: Record<string, unknown>[] = [];
  let fields: string[] = [];
  const r = await stream(
    connection,
    text,
    options,
    (f) => {
      fields = f;
    },
    (row) => {
      rows.push(row);
    },
  );
  return { fields: r.fields.length ? r.fields : fields, rows, more: r.more };
}

/**
 * `query`, with rows as arrays, for reading a whole answer at once fast (a report). Without
 * parameters the rows come as one COPY ... TO STDOUT text, split here and each field turned into
 * its value by the type parser node-postgres itself would use (so every value is the one a query
 * gives); building 10k row objects from 10k protocol messages costs the client more than the
 * server spends on the query. COPY takes no parameters: with them, the cursor path of `query`.
 * The text is this program's own SQL (a catalogue query), never a person's: a ";" is refused.
 */
export async function table(
  connection: string | pg.ClientConfig,
  text: string,
  options: AdhocOptions,
): Promise<CopiedTable> {
  if ((options.params ?? []).length > 0) {
    const r = await query(connection, text, options);
    return { fields: r.fields, rows: r.rows.map((row) => r.fields.map((f) => row[f])), more: r.more };
  }
  if (!options.skipKeywordCheck) checkStatement(text);
  if (text.includes(";")) throw new SqlRefusedError("refused: one statement, without ';'");
  const timeoutMs = wholeTimeout(options);
  return readOnlySession(connection, timeoutMs, async (client, deadline) => {
    return copyTable(client, text, options.limit, (work) => withCancel(client, deadline, timeoutMs, work));
  });
}

/** Awaits one fetch; past the statement's deadline the server is asked to cancel it (the protocol's CancelRequest). */
async function withCancel<T>(client: pg.Client, deadline: number, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let fired = false;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        fired = true;
        void cancelRequest(client);
        // A server that does not answer the cancel: give up the connection.
        setTimeout(() => {
          reject(new SqlTimeoutError(`stopped: the statement ran past its ${timeoutMs} ms timeout`));
          (client as unknown as { connection?: { stream?: net.Socket } }).connection?.stream?.destroy();
        }, 5000).unref();
      },
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([work, expired]);
  } catch (err) {
    if (fired && (err as { code?: string }).code === "57014") {
      throw new SqlTimeoutError(`stopped: the statement ran past its ${timeoutMs} ms timeout`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function cancelRequest(client: pg.Client): Promise<void> {
  const c = client as unknown as { processID?: number; secretKey?: number; host: string; port: number };
  if (c.processID === undefined || c.secretKey === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const socket = net.connect(c.port, c.host, () => {
      const msg = Buffer.alloc(16);
      msg.writeInt32BE(16, 0);
      msg.writeInt32BE(80877102, 4);
      msg.writeInt32BE(c.processID!, 8);
      msg.writeInt32BE(c.secretKey!, 12);
      socket.end(msg);
    });
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
}

/** PostgreSQL's refusals, said as what they mean for someone typing SQL. */
function explain(err: unknown, timeoutMs: number): Error {
  if (err instanceof SqlRefusedError || err instanceof SqlTimeoutError) return err;
  const e = err as Error & { code?: string };
  switch (e.code) {
    case "42601":
      if (/multiple commands/.test(e.message)) {
        return new SqlRefusedError("refused: leadpipe sql runs exactly one statement (no ';' between statements)", {
          cause: e,
        });
      }
      return e;
    case "25006":
      return new SqlRefusedError(`refused: leadpipe sql is read-only (${e.message})`, { cause: e });
    case "42501":
      return new SqlRefusedError(`refused: the read-only role may not do this (${e.message})`, { cause: e });
    case "57014":
      return new SqlTimeoutError(`stopped: the statement ran past its ${timeoutMs} ms timeout`, { cause: e });
    case "25P03":
      return new SqlTimeoutError(`stopped: the session sat idle in its transaction too long (${e.message})`, {
        cause: e,
      });
    default:
      return e;
  }
}
