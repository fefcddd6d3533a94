import { z } from "zod";

/**
 * A puller (or an outbound destination) as data: one entry of `$LEADPIPE_HOME/pullers.json`, or of
 * a stage's config in AWS. The field names are the file's contract (issue 21): snake_case.
 */

const name = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and '-' (at most 63)");
const fingerprint = z
  .string()
  .regex(
    /^SHA256:[A-Za-z0-9+/]{43}$/,
    "an OpenSSH SHA256 fingerprint like SHA256:<43 base64 characters> (ssh-keygen -lf key.pub -E sha256)",
  );
/** keep | delete | move:<archive folder> */
const after = z
  .string()
  .regex(/^(keep|delete|move:.+)$/, "keep, delete or move:<archive folder>")
  .default("keep");
/** A 5-field cron (minute hour day-of-month month day-of-week), run in `timezone`. */
const cron = z.string().regex(/^\S+(\s+\S+){4}$/, "a 5-field cron: minute hour day-of-month month day-of-week");
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM, local time in `timezone`");
const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, "an IANA time zone such as America/New_York");

const common = {
  name,
  direction: z.enum(["pull", "push"]).default("pull"),
  /** The source to land files as; otherwise the file name is recognized by the source specs. */
  source: z.string().min(1).optional(),
  /** Only files matching this glob (pull), e.g. "partner-b-*.csv". */
  pattern: z.string().min(1).default("*"),
  /** Complete when unchanged (size and modification time) across two listings this far apart. */
  stable_seconds: z.number().int().min(0).max(3600).default(30),
  /** Complete when a file <name><done_marker> sits beside it (e.g. ".done"); then no waiting. */
  done_marker: z.string().min(1).optional(),
  after,
  schedule: cron.optional(),
  timezone: timezone.default("UTC"),
  expected_by: hhmm.optional(),
  /** Attempts per file within a run (the first try included), with exponential backoff. */
  attempts: z.number().int().min(1).max(10).default(3),
  /** In AWS: the Secrets Manager secret holding the password / private_key / client_secret. */
  secret: z.string().min(1).optional(),
};

const remote = {
  host: z.string().min(1),
  username: z.string().min(1),
  password: z.string().min(1).optional(),
  dir: z.string().min(1).default("."),
};

export const SftpSpec = z
  .object({
    ...common,
    ...remote,
    transport: z.literal("sftp"),
    port: z.number().int().min(1).max(65535).default(22),
    private_key_file: z.string().min(1).optional(),
    host_key: fingerprint,
  })
  .strict();

export const FtpsSpec = z
  .object({
    ...common,
    ...remote,
    transport: z.literal("ftps"),
    port: z.number().int().min(1).max(65535).optional(),
    tls: z.enum(["explicit", "implicit"]).default("explicit"),
    ca_file: z.string().min(1).optional(),
  })
  .strict();

export const GraphSpec = z
  .object({
    ...common,
    transport: z.literal("graph"),
    tenant_id: z.string().min(1),
    client_id: z.string().min(1),
    client_secret: z.string().min(1).optional(),
    mailbox: z.string().min(1),
    folder: z.string().min(1).default("inbox"),
    from: z.string().min(1).optional(),
    attachment_pattern: z.string().min(1).default("*"),
    /** Push (e-mail through sendMail): the recipients, and the subject ("{name}" is the file name). */
    to: z.array(z.string().email()).min(1).optional(),
    subject: z.string().min(1).max(255).default("leadpipe: {name}"),
    graph_url: z.string().url().default("https://graph.microsoft.com"),
    /** The token endpoint's origin (tests point it at the local server too). */
    login_url: z.string().url().default("https://login.microsoftonline.com"),
  })
  .strict();

export const PullerSpec = z.discriminatedUnion("transport", [SftpSpec, FtpsSpec, GraphSpec]).superRefine((s, ctx) => {
  if (s.transport === "sftp" && !s.password && !s.private_key_file && !s.secret) {
    ctx.addIssue({ code: "custom", message: "an sftp puller needs password, private_key_file or secret" });
  }
  if (s.transport === "ftps" && !s.password && !s.secret)
    ctx.addIssue({ code: "custom", message: "an ftps puller needs password or secret" });
  if (s.transport === "graph" && !s.client_secret && !s.secret)
    ctx.addIssue({ code: "custom", message: "a graph puller needs client_secret or secret" });
  if (s.direction === "push" && s.transport === "ftps")
    ctx.addIssue({ code: "custom", message: "push (outbound) destinations are sftp or graph (e-mail) so far" });
  if (s.transport === "graph" && s.direction === "push" && !s.to)
    ctx.addIssue({ code: "custom", message: "a graph push destination needs `to`: the recipients' addresses" });
  if (s.transport === "graph" && s.direction === "pull" && s.to)
    ctx.addIssue({ code: "custom", message: '`to` is for push destinations (direction "push")' });
  if (s.expected_by && !s.schedule)
    ctx.addIssue({ code: "custom", message: "expected_by needs a schedule (it is checked on the schedule's runs)" });
});

export type PullerSpec = z.infer<typeof PullerSpec>;
export type SftpSpec = z.infer<typeof SftpSpec>;
export type FtpsSpec = z.infer<typeof FtpsSpec>;
export type GraphSpec = z.infer<typeof GraphSpec>;

export class PullerConfigError extends Error {
  override readonly name = "PullerConfigError";
}

/** Parses a pullers.json document (a JSON array); every problem is named with the entry and field. */
export function parsePullers(json: string, origin = "pullers.json"): PullerSpec[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new PullerConfigError(`${origin} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new PullerConfigError(`${origin} must be a JSON array of pullers`);
  const specs: PullerSpec[] = [];
  const problems: string[] = [];
  data.forEach((entry, i) => {
    const r = PullerSpec.safeParse(entry);
    const label =
      typeof (entry as { name?: unknown })?.name === "string"
        ? `${(entry as { name: string }).name} (entry ${i})`
        : `entry ${i}`;
    if (r.success) specs.push(r.data);
    else
      for (const issue of r.error.issues)
        problems.push(`${label}: ${issue.path.join(".") || "(entry)"}: ${issue.message}`);
  });
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) problems.push(`${s.name}: the name is used twice`);
    seen.add(s.name);
  }
  if (problems.length) throw new PullerConfigError(`${origin} is not valid:\n  ${problems.join("\n  ")}`);
  return specs;
}

/** The puller's EventBridge Scheduler expression: cron(minute hour dom month dow year), '?' where required. */
export function toEventBridgeCron(schedule: string): string {
  const [minute, hour, dom, month, dow] = schedule
    .trim()
    .split(/\s+/)
    .map((f) => f.replace(/^\*\//, "0/")) as [string, string, string, string, string];
  // EventBridge: one of day-of-month and day-of-week must be '?'; day-of-week numbers are 1-7 (SUN-SAT).
  const ebDow = dow === "*" ? "?" : dow.replace(/\d+/g, (d) => String((Number(d) % 7) + 1));
  const ebDom = dow === "*" ? dom : "?";
  if (dom !== "*" && dow !== "*")
    throw new PullerConfigError(`schedule ${schedule}: EventBridge cannot combine a day of month and a day of week`);
  return `cron(${minute} ${hour} ${ebDom} ${month} ${ebDow} *)`;
}
