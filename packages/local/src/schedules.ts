import { Cron } from "croner";

/**
 * An EventBridge schedule `cron(minutes hours day-of-month month day-of-week year)` as the
 * five-field cron croner runs (UTC): '?' becomes '*', the year field is dropped, and a numeric
 * day of week (EventBridge 1-7 = SUN-SAT) becomes 0-6. Names (MON-FRI) pass through.
 */
export function fromEventBridge(expression: string): string {
  const m = /^cron\((.+)\)$/.exec(expression.trim());
  const fields = m?.[1]?.trim().split(/\s+/);
  if (!fields || fields.length !== 6)
    throw new Error(`not an EventBridge cron(...) expression with 6 fields: ${expression}`);
  const [minute, hour, dom, month, dow] = fields.map((f) => (f === "?" ? "*" : f)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const unixDow = dow.replace(/\d+/g, (d) => String((Number(d) + 6) % 7));
  return `${minute} ${hour} ${dom} ${month} ${unixDow}`;
}

export interface LocalSchedule {
  name: string;
  /** The EventBridge expression the stage's config gives AWS. */
  expression: string;
  run(): Promise<unknown>;
}

/** The local runtime's stand-in for EventBridge schedules: each job on its cron, in UTC, never keeping the process alive. */
export function startSchedules(jobs: readonly LocalSchedule[], log: (line: string) => void): { stop(): void } {
  const crons = jobs.map(
    (job) =>
      new Cron(fromEventBridge(job.expression), { timezone: "UTC", unref: true, protect: true }, async () => {
        try {
          await job.run();
        } catch (err) {
          log(`schedule ${job.name} failed: ${(err as Error).message}`);
        }
      }),
  );
  return { stop: () => crons.forEach((c) => c.stop()) };
}
