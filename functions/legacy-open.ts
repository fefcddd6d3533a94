import middy from "@middy/core";
import { Migration } from "@leadpipe/core";
import { platform, withLegacyReader } from "./platform";

/** The legacy migration state machine's input: a new run's options, or the run to resume. */
interface OpenEvent {
  resume_run_id?: string;
  mapping?: unknown;
  only?: string[];
  range_rows?: number;
  time_zone?: string;
}

/** Opens a migration run of the legacy source (or takes up one to resume): its first phase is planned next. */
export const handler = middy(async (event: OpenEvent) => {
  const deps = await platform();
  return withLegacyReader(async (reader) => {
    if (event.only !== undefined && !(Array.isArray(event.only) && event.only.every((t) => typeof t === "string")))
      throw new Error("only must be a list of table names");
    const runId = event.resume_run_id
      ? (await Migration.resumableRun(deps.pool, reader, event.resume_run_id)).run_id
      : await Migration.beginRun(deps.pool, reader, {
          mapping:
            event.mapping === undefined ? undefined : Migration.parseMapping(event.mapping, "the input's mapping"),
          only: event.only,
          rangeRows: event.range_rows,
          timeZone: event.time_zone,
        });
    deps.log.info("migration run open", { run_id: runId, source: reader.label, resumed: !!event.resume_run_id });
    return { run_id: runId, phase: "first" };
  });
});
