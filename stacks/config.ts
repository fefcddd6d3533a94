/**
 * Per-stage settings, in one typed place. One stage is one tenant: `npx sst deploy --stage acme`
 * deploys the whole platform for the tenant "acme" with the settings below.
 *
 * Only the stages listed in `stages` (below) can be synthesized or deployed: any other name is
 * refused with a message naming this file, so a typo in `--stage` never becomes a tenant with the
 * development profile (no deletion protection, one day of backups). Personal, CI and test stages
 * are listed too, with the development profile.
 */

import { parsePullers } from "../packages/core/src/pullers/spec";

export interface StageConfig {
  /** Production data: the cluster, its secret and the landing bucket survive `sst remove`. */
  readonly retainData: boolean;
  /** AWS region the tenant lives in. */
  readonly region: string;
  readonly network: {
    /** Availability zones the VPC spans (Aurora needs at least two for its subnet group). */
    readonly maxAzs: number;
    /** NAT gateways for the Lambdas' egress (AWS APIs, later the partner SFTP/FTPS pullers). */
    readonly natGateways: number;
  };
  readonly database: {
    /** Aurora Serverless v2 capacity in ACUs. A minimum of 0 lets the cluster pause when idle. */
    readonly minCapacity: number;
    readonly maxCapacity: number;
    /** Minutes without connections before a cluster with minCapacity 0 pauses. */
    readonly autoPauseMinutes: number;
    /** Serverless v2 readers beside the writer (failover target; analysts' read-only SQL). */
    readonly readers: number;
    readonly backupRetentionDays: number;
  };
  readonly ingest: {
    /** Rows per chunk object written by the Stage task (CHUNK_ROWS). */
    readonly chunkRows: number;
    /** MaxConcurrency of the ProcessChunks Map state: parallel chunk Lambdas per import. */
    readonly mapMaxConcurrency: number;
    /** An execution running longer than this ends TIMED_OUT, which raises an alert. */
    readonly executionTimeoutMinutes: number;
  };
  readonly schedules: {
    /** Nightly refresh of the reporting views: an EventBridge schedule expression, in UTC. */
    readonly refreshViews: string;
    /** Daily lead hand-off file to the insurance agency (the day is the schedule's UTC date). */
    readonly leadHandoff: string;
    /** Catch-up run of the people consumer (it also runs after every successful ingest). */
    readonly resolvePeople: string;
    /** Crash recovery: imports whose execution is gone are resumed or ended FAILED (functions/recover-imports). */
    readonly recoverImports: string;
    // Partner pullers (SFTP, FTPS, e-mail attachments) get their schedules here, one per puller.
  };
  /**
   * Campaigns whose audience is published on a rhythm: one EventBridge schedule each, invoking the
   * publish-audience Lambda for the schedule's UTC day. Every other campaign is published on
   * demand (invoke the Lambda with {campaign, channel, asOf}, or `leadpipe audience publish`).
   */
  readonly audienceSchedules: readonly AudienceSchedule[];
  readonly alerts: {
    /** Addresses subscribed to the alert topic (each confirms the subscription by e-mail). */
    readonly emails: readonly string[];
  };
  /**
   * Partner pullers (and outbound destinations) of the tenant: entries shaped like
   * $LEADPIPE_HOME/pullers.json (docs/pullers.md), with credentials only as `secret` (a Secrets
   * Manager secret name); each gets its own Lambda on EventBridge Scheduler schedules in its time zone.
   */
  readonly pullers?: readonly Record<string, unknown>[];
  /**
   * The CRM and telephony syncs of the tenant (stacks/Integrations.ts): per system its crons (5-field,
   * as in integrations.json) in its time zone; its connection lives in its Secrets Manager secret.
   */
  readonly integrations?: readonly IntegrationSchedule[];
  /**
   * A legacy database to migrate in AWS (stacks/LegacyMigration.ts, docs/migration.md): off unless
   * set. The state machine reads it through the VPC with the connection from its secret.
   */
  readonly legacyMigration?: LegacyMigrationConfig;
  /** Days the chunk objects under staging/ are kept after their import (then S3 expires them). */
  readonly stagedChunkDays: number;
  /** Retention of the Lambdas' CloudWatch log groups. */
  readonly logRetentionDays: LogRetentionDays;
}

export interface LegacyMigrationConfig {
  /**
   * The Secrets Manager secret (name or ARN) holding the legacy database's connection as RDS writes
   * it: {engine: "mysql" | "mariadb", host, port, username, password, dbname}. Created by the operator.
   */
  readonly secret: string;
  /** The legacy database's security group: it gets an ingress rule from the migration's Lambdas on `port`. */
  readonly securityGroupId?: string;
  /** The legacy database's port (3306). */
  readonly port: number;
  /** Ranges landed at once (the Distributed Map's MaxConcurrency): each is a connection to the legacy database. */
  readonly maxConcurrency: number;
  /** An execution running longer than this ends TIMED_OUT, which alerts. */
  readonly executionTimeoutHours: number;
}

export interface IntegrationSchedule {
  readonly system: "pipedrive" | "ringcentral";
  /** The incremental sync's cron. */
  readonly schedule?: string;
  /** The full reconciliation's cron. */
  readonly full_schedule?: string;
  /** IANA time zone of both crons (default UTC). */
  readonly timezone?: string;
}

export interface AudienceSchedule {
  readonly campaign: string;
  readonly channel: "email" | "sms" | "call" | "mail";
  /** EventBridge schedule expression, UTC. */
  readonly schedule: string;
}

/** The values CloudWatch Logs accepts (a subset of aws-logs RetentionDays). */
export type LogRetentionDays = 1 | 3 | 5 | 7 | 14 | 30 | 60 | 90 | 180 | 365 | 731 | 1827 | 3653;

export const DEFAULT_REGION = "us-east-1";

const development: StageConfig = {
  retainData: false,
  region: DEFAULT_REGION,
  network: { maxAzs: 2, natGateways: 1 },
  database: { minCapacity: 0, maxCapacity: 4, autoPauseMinutes: 30, readers: 0, backupRetentionDays: 1 },
  ingest: { chunkRows: 50_000, mapMaxConcurrency: 4, executionTimeoutMinutes: 120 },
  schedules: {
    refreshViews: "cron(30 6 * * ? *)",
    leadHandoff: "cron(0 22 * * ? *)",
    resolvePeople: "cron(0/15 * * * ? *)",
    recoverImports: "cron(5/15 * * * ? *)",
  },
  audienceSchedules: [],
  alerts: { emails: [] },
  stagedChunkDays: 7,
  logRetentionDays: 14,
};

const production: StageConfig = {
  retainData: true,
  region: DEFAULT_REGION,
  network: { maxAzs: 2, natGateways: 2 },
  database: { minCapacity: 0.5, maxCapacity: 32, autoPauseMinutes: 0, readers: 1, backupRetentionDays: 14 },
  ingest: { chunkRows: 50_000, mapMaxConcurrency: 16, executionTimeoutMinutes: 360 },
  schedules: {
    refreshViews: "cron(0 7 * * ? *)",
    leadHandoff: "cron(0 22 * * ? *)",
    resolvePeople: "cron(0/15 * * * ? *)",
    recoverImports: "cron(5/15 * * * ? *)",
  },
  // The built-in e-mail campaign, every Monday after the nightly refresh.
  audienceSchedules: [{ campaign: "recent-bookers", channel: "email", schedule: "cron(0 8 ? * MON *)" }],
  alerts: { emails: [] },
  stagedChunkDays: 30,
  logRetentionDays: 90,
};

/**
 * The pullers of docs/pullers.md's example tenant: one SFTP partner publishing at 06:00 New York
 * time and an e-mail partner; the infrastructure tests synthesize the "pullers-example" stage.
 */
export const EXAMPLE_PULLERS: readonly Record<string, unknown>[] = [
  {
    name: "partner-b-sftp",
    transport: "sftp",
    host: "sftp.partner-b.example",
    port: 22,
    username: "leadpipe",
    host_key: "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
    dir: "/outgoing",
    pattern: "partner-b-mortgages-*.csv",
    stable_seconds: 60,
    after: "move:/outgoing/archive",
    schedule: "15 6 * * 1-5",
    timezone: "America/New_York",
    expected_by: "08:00",
    secret: "leadpipe/pullers/partner-b-sftp",
  },
  {
    name: "partner-c-mail",
    transport: "graph",
    tenant_id: "00000000-0000-0000-0000-000000000001",
    client_id: "00000000-0000-0000-0000-000000000002",
    mailbox: "partners@leadpipe.example",
    folder: "inbox",
    from: "files@partner-c.example",
    attachment_pattern: "partner-c-*.csv",
    schedule: "*/30 * * * *",
    timezone: "Europe/London",
    secret: "leadpipe/pullers/partner-c-mail",
  },
  {
    // The lead hand-off goes to the insurance agency by e-mail (the daily LeadHandoff function sends it).
    name: "agency-mail",
    direction: "push",
    transport: "graph",
    tenant_id: "00000000-0000-0000-0000-000000000001",
    client_id: "00000000-0000-0000-0000-000000000002",
    mailbox: "leads@leadpipe.example",
    to: ["leads@agency.example"],
    secret: "leadpipe/deliveries/agency-mail",
  },
];

/**
 * docs/integrations.md's example tenant: Pipedrive every 15 minutes in working hours, in full on
 * Sundays; RingCentral's call log every 15 minutes.
 */
export const EXAMPLE_INTEGRATIONS: readonly IntegrationSchedule[] = [
  { system: "pipedrive", schedule: "*/15 7-19 * * 1-5", full_schedule: "30 2 * * 0", timezone: "America/New_York" },
  { system: "ringcentral", schedule: "*/15 * * * *", timezone: "America/Chicago" },
];

/** docs/migration.md's example: a legacy MySQL in the tenant's VPC, its connection in Secrets Manager. */
export const EXAMPLE_LEGACY_MIGRATION: LegacyMigrationConfig = {
  secret: "leadpipe/legacy/crm",
  securityGroupId: "sg-0123456789abcdef0",
  port: 3306,
  maxConcurrency: 8,
  executionTimeoutHours: 24,
};

/**
 * Every stage that may be synthesized or deployed. A new tenant is one entry, usually
 * `acme: { ...production, region: "eu-west-1", alerts: { emails: ["oncall@acme.example"] } }`;
 * a personal or CI stage is `alice: development`. Anything not listed here is refused.
 */
const stages: Readonly<Record<string, StageConfig>> = {
  // Tenants: production data (retained on `sst remove`, deletion protection, 14 days of backups).
  prod: production,
  // Development stages: small, cheap, destroyed whole on `sst remove`.
  dev: development,
  ci: development,
  /** The infrastructure tests (test/infra) synthesize this one. */
  test: development,
  /** The local runtime (`npm start`) takes its schedules from here; it is never deployed. */
  local: development,
  /** docs/pullers.md's example tenant (the infrastructure tests synthesize its puller schedules). */
  "pullers-example": { ...development, pullers: EXAMPLE_PULLERS },
  /** docs/integrations.md's example tenant (the infrastructure tests synthesize its sync schedules). */
  "integrations-example": { ...development, integrations: EXAMPLE_INTEGRATIONS },
  /** docs/migration.md's example tenant (the infrastructure tests synthesize its migration state machine). */
  "migration-example": { ...development, legacyMigration: EXAMPLE_LEGACY_MIGRATION },
};

/** The file a stage is added to; named in the refusal of an unlisted stage. */
export const STAGE_CONFIG_FILE = "stacks/config.ts";

/** A stage not listed in `stages`: refused by synth and deploy instead of getting a default profile. */
export class UnknownStageError extends Error {
  override readonly name = "UnknownStageError";
  constructor(readonly stage: string) {
    super(
      `stage ${JSON.stringify(stage)} is not listed in ${STAGE_CONFIG_FILE}: add it to \`stages\` there ` +
        `(a tenant as { ...production, <its settings> }, a personal or CI stage as development), ` +
        `then synth or deploy again. Listed: ${stageNames().join(", ")}`,
    );
  }
}

/** The listed stages, sorted. */
export function stageNames(): string[] {
  return Object.keys(stages).sort();
}

export function stageConfig(stage: string): StageConfig {
  if (!Object.hasOwn(stages, stage)) throw new UnknownStageError(stage);
  const config = stages[stage]!;
  validate(stage, config);
  return config;
}

function validate(stage: string, c: StageConfig): void {
  const problems: string[] = [];
  const { minCapacity, maxCapacity, autoPauseMinutes } = c.database;
  if (minCapacity < 0 || maxCapacity < 1 || maxCapacity > 256 || minCapacity > maxCapacity) {
    problems.push(
      `database capacity must satisfy 0 <= min <= max, 1 <= max <= 256 (got ${minCapacity}..${maxCapacity})`,
    );
  }
  if (minCapacity === 0 && (autoPauseMinutes < 5 || autoPauseMinutes > 24 * 60)) {
    problems.push("database.autoPauseMinutes must be 5..1440 when minCapacity is 0");
  }
  if (c.network.maxAzs < 2) problems.push("network.maxAzs must be at least 2 (Aurora subnet groups span two AZs)");
  if (c.network.natGateways < 1) problems.push("network.natGateways must be at least 1 (the Lambdas call AWS APIs)");
  if (!Number.isInteger(c.ingest.chunkRows) || c.ingest.chunkRows < 1)
    problems.push("ingest.chunkRows must be a positive integer");
  if (!Number.isInteger(c.ingest.mapMaxConcurrency) || c.ingest.mapMaxConcurrency < 1) {
    problems.push("ingest.mapMaxConcurrency must be a positive integer");
  }
  for (const [name, expression] of Object.entries(c.schedules)) {
    if (!/^(cron|rate)\(.+\)$/.test(expression))
      problems.push(`schedules.${name} must be an EventBridge cron(...) or rate(...) expression`);
  }
  const seen = new Set<string>();
  for (const a of c.audienceSchedules) {
    const key = `${a.campaign}/${a.channel}`;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(a.campaign))
      problems.push(`audienceSchedules: campaign "${a.campaign}" is not a campaign name`);
    if (!/^(cron|rate)\(.+\)$/.test(a.schedule))
      problems.push(`audienceSchedules ${key} must be an EventBridge cron(...) or rate(...) expression`);
    if (seen.has(key)) problems.push(`audienceSchedules: ${key} is scheduled twice`);
    seen.add(key);
  }
  problems.push(...pullerProblems(c.pullers ?? []));
  const systems = (c.integrations ?? []).map((i) => i.system);
  if (new Set(systems).size !== systems.length) problems.push("integrations: a system is listed twice");
  for (const i of c.integrations ?? [])
    if (!["pipedrive", "ringcentral"].includes(i.system)) problems.push(`integrations: unknown system ${i.system}`);
  const lm = c.legacyMigration;
  if (lm) {
    if (!lm.secret || /^[a-z]+:\/\//i.test(lm.secret))
      problems.push("legacyMigration.secret must name a Secrets Manager secret (never a URL)");
    if (!Number.isInteger(lm.port) || lm.port < 1 || lm.port > 65535)
      problems.push("legacyMigration.port must be a port");
    if (!Number.isInteger(lm.maxConcurrency) || lm.maxConcurrency < 1 || lm.maxConcurrency > 10_000)
      problems.push("legacyMigration.maxConcurrency must be 1 to 10000 (a Distributed Map's limit)");
    if (lm.securityGroupId !== undefined && !/^sg-[0-9a-f]{8,17}$/.test(lm.securityGroupId))
      problems.push("legacyMigration.securityGroupId must be a security group id (sg-…)");
    if (!(lm.executionTimeoutHours > 0 && lm.executionTimeoutHours <= 24 * 365))
      problems.push("legacyMigration.executionTimeoutHours must be more than 0 and at most a year");
  }
  if (!Number.isInteger(c.stagedChunkDays) || c.stagedChunkDays < 1)
    problems.push("stagedChunkDays must be a positive integer");
  if (problems.length > 0) throw new Error(`stage "${stage}": ${problems.join("; ")}`);
}

/** A stage's pullers parse as pullers.json entries, and carry no secret inline. */
function pullerProblems(pullers: readonly Record<string, unknown>[]): string[] {
  if (!pullers.length) return [];
  try {
    parsePullers(JSON.stringify(pullers), "pullers");
  } catch (err) {
    return [(err as Error).message];
  }
  return pullers.flatMap((p) =>
    ["password", "private_key_file", "client_secret"]
      .filter((k) => k in p)
      .map(
        (k) =>
          `pullers: ${String(p.name)}: ${k} must not be in the stage config; put it in the Secrets Manager secret named by "secret"`,
      ),
  );
}
