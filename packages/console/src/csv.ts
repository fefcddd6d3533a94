import { PassThrough, Readable } from "node:stream";
import Cursor from "pg-cursor";
import { csvLine, csvValue, type Pool } from "@leadpipe/core";

const isValues = (row: Record<string, unknown> | readonly unknown[]): row is readonly unknown[] => Array.isArray(row);

/** Hands the field names, then each row: an object by field name, or its values in field order. */
export type RowSource = (
  onFields: (f: string[]) => void | Promise<void>,
  onRow: (r: Record<string, unknown> | readonly unknown[]) => void | Promise<void>,
) => Promise<{ more: boolean; rows: number }>;

/** The client went away mid-answer: the producer stops (its cursor closes, its connection is freed). */
export class ClientGone extends Error {
  override name = "ClientGone";
}

/**
 * A stream a producer writes lines into, with backpressure: `write` waits while the client reads slower
 * than rows arrive (memory stays flat), and throws ClientGone once the client has gone.
 */
export function lineStream(): { out: PassThrough; write(s: string): void | Promise<void>; body(): ReadableStream } {
  const out = new PassThrough();
  const write = (s: string): void | Promise<void> => {
    if (out.destroyed) throw new ClientGone("the client closed the connection");
    if (out.write(s)) return;
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        out.off("drain", done);
        out.off("close", done);
        if (out.destroyed) reject(new ClientGone("the client closed the connection"));
        else resolve();
      };
      out.on("drain", done);
      out.on("close", done);
    });
  };
  return { out, write, body: () => Readable.toWeb(out) as ReadableStream };
}

/**
 * A CSV download streamed as rows arrive (backpressure: a slow client slows the fetching). When the row
 * limit cut the answer short, the last line says so, so a truncated file never passes for a whole one.
 */
export function csvResponse(
  fileName: string,
  limit: number,
  source: RowSource,
  onDone?: (r: { rows: number; more: boolean; error?: Error }) => void,
): Response {
  const { out, write, body } = lineStream();
  let fields: string[] = [];
  void (async () => {
    try {
      const r = await source(
        (f) => {
          fields = f;
          return write(csvLine(f));
        },
        (row) => write(csvLine(isValues(row) ? row.map(csvValue) : fields.map((f) => csvValue(row[f])))),
      );
      if (r.more)
        await write(`# more rows exist: this export stops at its limit of ${limit.toLocaleString("en-US")} rows\n`);
      onDone?.(r);
      out.end();
    } catch (err) {
      if (!out.destroyed) out.write(`# export stopped: ${(err as Error).message.split("\n")[0]}\n`);
      onDone?.({ rows: 0, more: false, error: err as Error });
      out.end();
    }
  })();
  return new Response(body(), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${fileName.replace(/[^\w.-]/g, "_")}"`,
      "x-row-limit": String(limit),
      "cache-control": "no-store",
    },
  });
}

/** A fixed, parameterised query streamed through a cursor (flat memory), at most `limit` rows. */
export function cursorSource(pool: Pool, sql: string, params: unknown[], limit: number): RowSource {
  return async (onFields, onRow) => {
    const client = await pool.connect();
    try {
      const cursor = client.query(new Cursor(sql, params));
      let rows = 0;
      let started = false;
      for (;;) {
        const got = await cursor.read(1000);
        if (!started) {
          started = true;
          await onFields(
            (cursor as unknown as { _result?: { fields?: { name: string }[] } })._result?.fields?.map((f) => f.name) ??
              [],
          );
        }
        for (const r of got) {
          if (rows >= limit) {
            await cursor.close();
            return { more: true, rows };
          }
          await onRow(r);
          rows++;
        }
        if (got.length < 1000) break;
      }
      await cursor.close();
      return { more: false, rows };
    } finally {
      client.release();
    }
  };
}
