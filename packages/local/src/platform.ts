import {
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  appendFileSync,
} from "node:fs";
import { randomUUID } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { fork, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { StateMachine } from "aws-local-stepfunctions";
import { Import, Sources, createLogger, createPool, migrate, resetConfig, type Pool, Roles } from "@leadpipe/core";
import { createS3Client, s3Store } from "@leadpipe/core/adapters/s3";
import { alertSubject, createSnsClient, snsNotifier } from "@leadpipe/core/adapters/sns";
import { homePaths, type HomePaths } from "./home";
import { startPostgres, type RunningPostgres } from "./postgres";
import { startLocalEndpoints } from "./endpoints";
import { WorkerPool } from "./workers";
import { withDeadline } from "./deadline";
import { readRuntime, removeRuntime, writeRuntime } from "./runtime-file";
import { startSchedules } from "./schedules";
import { MIRRORED_PREFIXES, mirrorObject, mirrorPath } from "./mirror";
import { pullersFile, readPullers, startPullerSchedules, type LocalPullDeps } from "./pullers";
import { integrationsFile, readIntegrations } from "./integrations";
import { fileCredentials } from "./credentials";
import { startSyncSchedules } from "./sync-schedules";
import { DatabaseWatch } from "./database-watch";
import { stageConfig } from "../../../stacks/config";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const functionsDir = path.join(repoRoot, "functions");
export const aslPath = path.join(repoRoot, "stacks", "ingest.asl.json");
export const peopleAslPath = path.join(repoRoot, "stacks", "people.asl.json");
export const legacyAslPath = path.join(repoRoot, "stacks", "legacy-migration.asl.json");

/** An ASL file's definition, each `${<Name>FunctionArn}` bound to the local function of that name. */
export function localDefinition(file: string): AslDefinition {
  return JSON.parse(
    readFileSync(file, "utf8").replace(
      /\$\{(\w+)FunctionArn\}/g,
      (_m, fn: string) => `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:leadpipe-local-${fn}`,
    ),
  );
}

/** A state machine from its ASL file, each `${<Name>FunctionArn}` bound to the local function of that name. */
export function localStateMachine(file: string): StateMachine {
  return new StateMachine(localDefinition(file));
}

export type AslDefinition = ConstructorParameters<typeof StateMachine>[0];

// aws-local-stepfunctions uses Promise.withResolvers, which Node 20 lacks.
const P = Promise as unknown as { withResolvers?: unknown };
P.withResolvers ??= function withResolvers<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

export const LOCAL_ACCOUNT = "000000000000";
export const LOCAL_REGION = "us-east-1";
const BUCKET = "leadpipe-local-landing";

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** ASL task state → the handler module the Lambda of that state runs. */
export const TASK_HANDLERS: Record<string, string> = {
  Validate: "validate",
  Checksum: "checksum",
  Stage: "stage",
  Resume: "resume",
  ProcessChunk: "process-chunk",
  Finalize: "finalize",
  MarkFailed: "mark-failed",
};
/** Tasks that run on worker threads (the parallel Map iterations); the rest run in-process. */
const ON_WORKERS = new Set(["ProcessChunk"]);

export interface Alert {
  time: string;
  topicArn: string;
  subject?: string;
  message: string;
}

export interface Dropped {
  file: string;
  key: string;
  /** The newest import of this key before the upload (0: none): the upload's import comes after it. */
  afterSeq: number;
}

export interface LocalOptions {
  home?: string;
  chunkRows?: number;
  /** Pause between ASL retries (ms); the ASL's own intervals when unset. */
  retryIntervalMs?: number;
  workers?: number;
  log?: (line: string) => void;
  /** Called before each Task state runs (tests use it to take a peer down at a known point). */
  beforeTask?: (state: string, payload: unknown) => Promise<void> | void;
}

/**
 * The whole platform on one machine: a real PostgreSQL, an S3-compatible endpoint whose
 * object-created events invoke the trigger handler, local Step Functions and SNS endpoints
 * (the handlers reach them through the real AWS SDK), and stacks/ingest.asl.json executed with
 * each Task mapped to the same handler the Lambda runs.
 */
export class LocalPlatform {
  readonly bucket = BUCKET;
  readonly stateMachineArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:leadpipe-local-ingest`;
  readonly topicArn = `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:leadpipe-local-alerts`;
  readonly executions = new Map<string, { done: boolean; promise: Promise<unknown>; error?: Error }>();
  private readonly people: { running?: Promise<void>; again: boolean } = { again: false };
  private schedules?: { stop(): void };
  private pullerSchedules?: { stop(): void };
  private syncSchedules?: { stop(): void };
  private closing = false;
  private machine?: StateMachine;
  private peopleMachine?: StateMachine;
  readonly alerts: Alert[] = [];
  /** The S3 notifications delivered to the trigger, as delivered (tests replay them). */
  readonly notifications: unknown[] = [];
  pool!: Pool;
  s3!: S3Client;
  pg?: RunningPostgres;
  private originalEnv?: NodeJS.ProcessEnv;
  private s3Endpoint?: ChildProcess;
  private s3Port = 0;
  /** Publishes the local SNS endpoint answers with a 500 before it accepts again (tests). */
  private failingPublishes = 0;
  private failingStarts = 0;
  /** Publish requests the local SNS endpoint received, failed or not. */
  publishRequests = 0;
  private endpoints?: { url: string; close(): Promise<void> };
  private workers?: WorkerPool;
  private handlers = new Map<string, Promise<Handler>>();
  private pendingTriggers = new Set<Promise<unknown>>();
  /** Mirror copies of outbox/ and reports/ objects under way, by key (one at a time per key: the latest write wins). */
  private mirrors = new Map<string, Promise<void>>();
  /** Keys whose latest mirror copy failed (their file, if any, is an older version). */
  private unmirrored = new Set<string>();
  private flushes = new Map<string, () => void>();
  /** Object-created events the trigger could not register while the database was down: delivered again when it is back. */
  private undelivered: unknown[] = [];
  private database?: DatabaseWatch;
  private readonly log: (line: string) => void;

  /** The console role's connection string (the console's pages and logins). */
  get consoleUrl(): string {
    return Roles.urlAs(this.pg!.url, Roles.CONSOLE_ROLE, this.pg!.secrets.console);
  }

  /** The pipeline role's connection string (what the handlers log in as). */
  get pipelineUrl(): string {
    return Roles.urlAs(this.pg!.url, Roles.PIPELINE_ROLE, this.pg!.secrets.pipeline);
  }

  /** The read-only role's connection string (`leadpipe sql`). */
  get readonlyUrl(): string {
    return Roles.urlAs(this.pg!.url, Roles.READONLY_ROLE, this.pg!.secrets.readonly);
  }

  private constructor(
    readonly paths: HomePaths,
    private readonly options: LocalOptions,
  ) {
    this.log = options.log ?? ((l) => process.stderr.write(l + "\n"));
  }

  static async start(options: LocalOptions = {}): Promise<LocalPlatform> {
    const running = readRuntime(options.home);
    if (running) {
      throw new Error(
        `leadpipe is already running (pid ${running.pid}) on ${homePaths(options.home).root}: ` +
          `copy files into its inbox (${homePaths(options.home).inbox}) or stop it first`,
      );
    }
    const p = new LocalPlatform(homePaths(options.home), options);
    try {
      await p.boot();
    } catch (err) {
      await p.close();
      throw err;
    }
    return p;
  }

  private async boot(): Promise<void> {
    const { paths } = this;
    for (const d of [paths.root, paths.s3, paths.inbox, paths.processed]) mkdirSync(d, { recursive: true });
    this.originalEnv = { ...process.env };
    this.pg = await startPostgres(paths.pg, undefined, { secretsFile: paths.secrets });
    await this.startS3();
    const s3Endpoint = `http://127.0.0.1:${this.s3Port}`;
    this.endpoints = await startLocalEndpoints({
      startExecution: async (req) => {
        if (this.failingStarts > 0) {
          this.failingStarts--;
          throw new Error("Step Functions unavailable (injected)");
        }
        return this.startExecution(req.name ?? randomUUID(), JSON.parse(req.input ?? "{}"));
      },
      describeExecution: async (req) => this.describeExecution(req.executionArn),
      publish: async (req) => {
        this.publishRequests++;
        if (this.failingPublishes > 0) {
          this.failingPublishes--;
          throw new Error("SNS unavailable (injected)");
        }
        return this.recordAlert({
          time: new Date().toISOString(),
          topicArn: req.topicArn,
          subject: req.subject,
          message: req.message,
        });
      },
    });
    Object.assign(process.env, {
      LEADPIPE_STAGE: "local",
      DATABASE_URL: this.pg.url,
      S3_ENDPOINT: s3Endpoint,
      SFN_ENDPOINT: this.endpoints.url,
      SNS_ENDPOINT: this.endpoints.url,
      LANDING_BUCKET: BUCKET,
      STATE_MACHINE_ARN: this.stateMachineArn,
      ALERT_TOPIC_ARN: this.topicArn,
      AWS_REGION: LOCAL_REGION,
      // The lead hand-off's outbound destinations ("push" entries), read by the handler at each run.
      PULLERS_FILE: pullersFile(this.options.home),
      // The local peers accept any credentials; the SDK insists on having some.
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      ...(this.options.chunkRows ? { CHUNK_ROWS: String(this.options.chunkRows) } : {}),
    });
    delete process.env.DATABASE_SECRET_ARN;
    resetConfig();
    const { resetPlatform } = (await import(path.join(functionsDir, "platform.ts"))) as {
      resetPlatform(): Promise<void>;
    };
    await resetPlatform();
    this.pool = createPool(this.pg.url, 4);
    await migrate(this.pool);
    await Roles.setRolePasswords(this.pool, {
      leadpipe_readonly: this.pg.secrets.readonly,
      leadpipe_pipeline: this.pg.secrets.pipeline,
      leadpipe_console: this.pg.secrets.console,
    });
    // The superuser is for migrations (and this class's bookkeeping): the handlers log in as the pipeline role, as in AWS.
    process.env.DATABASE_URL = this.pipelineUrl;
    resetConfig();
    // Used directly (drops, uploads), not through s3Store: the SDK's retries cover a closed keep-alive socket.
    this.s3 = createS3Client(s3Endpoint, LOCAL_REGION, 3);
    this.workers = new WorkerPool(
      this.options.workers ?? os.availableParallelism(),
      [...ON_WORKERS].map((state) => path.join(functionsDir, `${TASK_HANDLERS[state]}.ts`)),
    );
    // The state machine is validated once, as a deployment does, not when the first file lands.
    this.stateMachine();
    writeRuntime(paths.root, { pid: process.pid, databaseUrl: this.pg.url, s3Endpoint, bucket: BUCKET });
    // Nothing survives a restart: every import a previous run left open has lost its execution.
    // (A recovery that fails does not keep the platform from starting: the schedule tries again.)
    await this.recoverImports(0).catch((err: Error) => this.log(`crash recovery at start failed: ${err.message}`));
    this.database = new DatabaseWatch(this.pool, this.pg, {
      lost: (err) =>
        this.recordAlert({
          time: new Date().toISOString(),
          topicArn: this.topicArn,
          subject: "leadpipe database unreachable: not taking files",
          message:
            `The database of ${paths.root} does not answer (${err.message}). Files stay in the inbox ` +
            `(${paths.inbox}) until it is back; imports in flight are recovered then.`,
        }),
      back: async (ms) => this.databaseBack(ms),
      log: this.log,
    });
    this.database.start();
    // The people consumer catches up at boot (then on its schedule, below).
    this.resolvePeopleSoon();
    // EventBridge schedules of the stage, run locally on their cron (UTC).
    this.schedules = startSchedules(
      [
        {
          name: "lead-handoff",
          expression: stageConfig("local").schedules.leadHandoff,
          run: () =>
            this.invoke("lead-handoff", {
              "detail-type": "Scheduled Event",
              source: "aws.events",
              time: new Date().toISOString(),
            }),
        },
        {
          name: "resolve-people",
          expression: stageConfig("local").schedules.resolvePeople,
          run: async () => this.resolvePeopleSoon(),
        },
        {
          name: "recover-imports",
          expression: stageConfig("local").schedules.recoverImports,
          run: () => this.recoverImports(),
        },
      ],
      this.log,
    );
    // The partner pullers of $LEADPIPE_HOME/pullers.json, each on its cron in its time zone.
    this.pullerSchedules = startPullerSchedules(this.pullers(), this.pullDeps(), this.log);
    // The syncs of $LEADPIPE_HOME/integrations.json that declare a schedule, each in its time zone.
    // A bad file is said and leaves the syncs unscheduled; `leadpipe sync` names the same error.
    try {
      this.syncSchedules = startSyncSchedules(
        readIntegrations(this.options.home),
        integrationsFile(this.options.home),
        {
          pool: this.pool,
          log: createLogger({ service: "leadpipe-sync" }),
          notifier: snsNotifier(createSnsClient(this.endpoints.url, LOCAL_REGION), this.topicArn),
          objects: { store: s3Store(this.s3), bucket: BUCKET },
          credentials: fileCredentials(this.options.home),
        },
      );
    } catch (err) {
      this.log(`integrations.json not scheduled: ${(err as Error).message}`);
    }
  }

  /** The partner pullers of $LEADPIPE_HOME/pullers.json (none without the file). */
  pullers(): ReturnType<typeof readPullers> {
    return readPullers(this.options.home);
  }

  /** What a puller run needs on this platform: its pool, bucket, and alerts to its SNS endpoint. */
  pullDeps(): LocalPullDeps {
    if (!this.endpoints) throw new Error("the platform's endpoints are not running");
    return {
      pool: this.pool,
      store: s3Store(this.s3),
      settings: { bucket: BUCKET },
      notifier: snsNotifier(createSnsClient(this.endpoints.url, LOCAL_REGION), this.topicArn),
    };
  }

  /** Starts the S3-compatible endpoint (again, on the same port and folder, after stopS3), in a process of its own (s3-endpoint.js). */
  async startS3(): Promise<void> {
    const child = fork(
      fileURLToPath(new URL("./s3-endpoint.js", import.meta.url)),
      [JSON.stringify({ port: this.s3Port, directory: this.paths.s3, bucket: BUCKET })],
      { execArgv: ["--single-threaded-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
    );
    this.s3Port = await new Promise<number>((resolve, reject) => {
      const exited = (code: number | null) =>
        reject(new Error(`the local S3 endpoint exited (code ${code}) before it listened`));
      child.once("exit", exited);
      child.once("message", (m: { port?: number }) => {
        child.off("exit", exited);
        if (m.port) resolve(m.port);
        else reject(new Error(`the local S3 endpoint said ${JSON.stringify(m)} before it listened`));
      });
    });
    this.s3Endpoint = child;
    child.on("exit", () => {
      for (const resolve of this.flushes.values()) resolve();
      this.flushes.clear();
    });
    type S3Records = { Records: Array<{ eventName: string; s3: { object: { key: string } } }> };
    child.on("message", (m: { flushed?: string; event?: S3Records }) => {
      if (m.flushed) {
        this.flushes.get(m.flushed)?.();
        this.flushes.delete(m.flushed);
        return;
      }
      const event = m.event;
      const record = event?.Records[0];
      if (!event || !record?.eventName.startsWith("ObjectCreated:")) return;
      // Files for people (audiences, hand-offs, import reports): mirrored as plain files under LEADPIPE_HOME.
      const key = record.s3.object.key;
      if (MIRRORED_PREFIXES.some((prefix) => key.startsWith(prefix))) this.mirrorSoon(key);
      if (!key.startsWith("inbox/")) return;
      // S3 notifications carry URL-encoded keys (spaces as '+'); s3rver's do not.
      record.s3.object.key = encodeURIComponent(record.s3.object.key).replace(/%2F/g, "/").replace(/%20/g, "+");
      this.notifications.push(structuredClone(event));
      const p = this.invoke("trigger", event).catch(async (err: Error) => {
        this.log(`trigger failed: ${err.message}`);
        // As S3 retries an event its Lambda failed on: kept until the database is back.
        if (this.database && !(await this.database.check())) this.undelivered.push(event);
      });
      this.pendingTriggers.add(p);
      void p.finally(() => this.pendingTriggers.delete(p));
    });
  }

  /** Copies the object to $LEADPIPE_HOME/<key> (mirror.ts), after any copy of the same key still under way. */
  private mirrorSoon(key: string): void {
    const copy = async () => {
      const file = await mirrorObject(s3Store(this.s3), this.bucket, key, this.paths.root);
      if (!file) this.log(`not mirrored under ${this.paths.root}: ${JSON.stringify(key)} is not a file path`);
      this.unmirrored.delete(key);
    };
    const next = (this.mirrors.get(key) ?? Promise.resolve()).then(copy).catch((err: Error) => {
      this.unmirrored.add(key);
      this.log(`mirroring ${key} under ${this.paths.root} failed: ${err.message}`);
    });
    this.mirrors.set(key, next);
    void next.finally(() => {
      if (this.mirrors.get(key) === next) this.mirrors.delete(key);
    });
  }

  /**
   * Resolves once every outbox/ and reports/ object written before the call is mirrored under
   * LEADPIPE_HOME: the S3 endpoint answers a flush after the events it already sent, then the
   * copies they started are awaited.
   */
  async mirrored(): Promise<void> {
    const child = this.s3Endpoint;
    if (child?.connected) {
      const id = randomUUID();
      await new Promise<void>((resolve) => {
        this.flushes.set(id, resolve);
        child.send({ flush: id });
      });
    }
    while (this.mirrors.size > 0) await Promise.all([...this.mirrors.values()]);
  }

  /** The mirror of an object this platform's bucket holds, once it is there (undefined: it could not be mirrored). */
  async mirror(key: string): Promise<string | undefined> {
    await this.mirrored();
    const file = mirrorPath(this.paths.root, key);
    return file && existsSync(file) && !this.unmirrored.has(key) ? file : undefined;
  }

  /** The S3-compatible endpoint's process (for the benchmarks' CPU accounting). */
  get s3EndpointPid(): number | undefined {
    return this.s3Endpoint?.pid;
  }

  /** Takes the S3-compatible endpoint down (connections refused) until startS3. */
  async stopS3(): Promise<void> {
    const child = this.s3Endpoint;
    this.s3Endpoint = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.send("close");
    await exited;
  }

  /** The next `n` StartExecution calls to the local Step Functions endpoint fail with a 500. */
  failStarts(n: number): void {
    this.failingStarts = n;
  }

  /** The next `n` publishes to the local SNS endpoint fail with a 500 (an SNS outage). */
  failPublishes(n: number): void {
    this.failingPublishes = n;
  }

  private handler(name: string): Promise<Handler> {
    let h = this.handlers.get(name);
    if (!h) {
      h = import(path.join(functionsDir, `${name}.ts`)).then((m: { handler: Handler }) => m.handler);
      this.handlers.set(name, h);
    }
    return h;
  }

  /** The Lambda context's data; worker threads add the methods back (functions cannot cross threads). */
  private context(name: string) {
    return { functionName: `leadpipe-local-${name}`, awsRequestId: randomUUID() };
  }

  /** Invokes a handler as its Lambda would be invoked. */
  async invoke(name: string, event: unknown): Promise<unknown> {
    return (await this.handler(name))(event, withDeadline(this.context(name)));
  }

  /**
   * stacks/ingest.asl.json with each task bound to its local function: read and validated once per
   * platform (constructing a StateMachine validates the definition, 60-180 ms of the main thread),
   * then run once per execution, each run with its own state and task handlers.
   */
  private stateMachine(): StateMachine {
    this.machine ??= localStateMachine(aslPath);
    return this.machine;
  }

  private startExecution(name: string, input: Record<string, unknown>): { executionArn: string } {
    const executionArn = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:leadpipe-local-ingest:${name}`;
    if (this.executions.has(name)) {
      const e = new Error(`Execution already exists: '${executionArn}'`);
      e.name = "ExecutionAlreadyExists";
      throw e;
    }
    const machine = this.stateMachine();
    type Local = (input: unknown) => Promise<never>;
    const overrides: Record<string, Local> = {};
    for (const [state, module] of Object.entries(TASK_HANDLERS)) {
      // With arn:aws:states:::lambda:invoke the task receives {FunctionName, Payload} and returns {Payload}.
      overrides[state] = (async ({ Payload }: { Payload: unknown }) => {
        await this.options.beforeTask?.(state, Payload);
        return {
          Payload: ON_WORKERS.has(state)
            ? await this.workers!.run(path.join(functionsDir, `${module}.ts`), Payload, this.context(module))
            : await this.invoke(module, Payload),
        };
      }) as unknown as Local;
    }
    const retry = this.options.retryIntervalMs;
    const execution = machine.run(input as Parameters<StateMachine["run"]>[0], {
      overrides: {
        taskResourceLocalHandlers: overrides,
        ...(retry !== undefined
          ? { retryIntervalOverrides: Object.fromEntries(Object.keys(TASK_HANDLERS).map((s) => [s, retry])) }
          : {}),
      },
    });
    const entry: { done: boolean; promise: Promise<unknown>; error?: Error } = {
      done: false,
      promise: Promise.resolve(),
    };
    entry.promise = execution.result.then(
      (r) => {
        entry.done = true;
        // EventBridge: a succeeded ingest execution invokes the people consumer.
        this.resolvePeopleSoon();
        return r;
      },
      async (err: Error) => {
        entry.done = true;
        entry.error = err;
        // The EventBridge rule on FAILED/TIMED_OUT/ABORTED executions publishes to the alert topic.
        this.recordAlert({
          time: new Date().toISOString(),
          topicArn: this.topicArn,
          subject: `leadpipe execution FAILED: ${name}`,
          message: `Step Functions execution ${executionArn} FAILED: ${err.name}: ${err.message}`,
        });
      },
    );
    this.executions.set(name, entry);
    return { executionArn };
  }

  /** DescribeExecution of the local Step Functions endpoint: what this platform's executions are doing. */
  private describeExecution(executionArn: string): { status: "RUNNING" | "SUCCEEDED" | "FAILED" } {
    const name = executionArn.slice(executionArn.lastIndexOf(":") + 1);
    const ex = this.executions.get(name);
    if (!ex) {
      const e = new Error(`Execution does not exist: '${executionArn}'`);
      e.name = "ExecutionDoesNotExist";
      throw e;
    }
    return { status: !ex.done ? "RUNNING" : ex.error ? "FAILED" : "SUCCEEDED" };
  }

  /**
   * Crash recovery (functions/recover-imports, as its schedule runs it in AWS): imports whose
   * execution is gone are resumed or ended FAILED. graceMs 0 at boot, where nothing else is
   * starting executions; the handler's default on the schedule.
   */
  async recoverImports(graceMs?: number): Promise<Import.Recovery[]> {
    const { recovered } = (await this.invoke("recover-imports", graceMs === undefined ? {} : { graceMs })) as {
      recovered: Import.Recovery[];
    };
    for (const r of recovered) {
      this.log(
        `recovered import ${r.importId} (${r.file}, was ${r.status}): ${r.action}` +
          (r.reason ? ` (${r.reason})` : r.execution ? ` as execution ${r.execution}` : ""),
      );
    }
    return recovered;
  }

  /** True while the database answers (as last checked: every second). */
  get databaseUp(): boolean {
    return this.database?.up ?? true;
  }

  /** Whether the platform may take files now: its database answers a check made now (and recovery after an outage is done). */
  takingFiles(): Promise<boolean> {
    return this.database?.check() ?? Promise.resolve(true);
  }

  private async databaseBack(downForMs: number): Promise<void> {
    this.log(
      `database is back after ${(downForMs / 1000).toFixed(1)} s: recovering imports in flight, taking files again`,
    );
    // The trigger's events of the outage first (their imports register), then the recovery.
    const events = this.undelivered.splice(0);
    for (const event of events) await this.invoke("trigger", event);
    await Promise.allSettled([...this.pendingTriggers]);
    await this.recoverImports(0);
  }

  private recordAlert(raw: Alert): { messageId: string } {
    const alert = { ...raw, ...(raw.subject !== undefined ? { subject: alertSubject(raw.subject) } : {}) };
    this.alerts.push(alert);
    appendFileSync(this.paths.alerts, JSON.stringify(alert) + "\n");
    this.log(`ALERT ${alert.subject ?? ""}\n${alert.message}`);
    return { messageId: randomUUID() };
  }

  /** Resolves when the chunk workers have loaded their handlers (they load them at start, in the background). */
  workersReady(): Promise<void> {
    return this.workers?.ready() ?? Promise.resolve();
  }

  /** Uploads a local file to `key` in the landing bucket (not under inbox/: no import starts). */
  async put(key: string, file: string, metadata?: Record<string, string>): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        // Read in 1 MB pieces (not the default 64 kB): a sixteenth of the writes through the SDK and the socket.
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(file, { highWaterMark: 1 << 20 }),
        ContentLength: statSync(file).size,
        Metadata: metadata,
      }),
    );
  }

  /** Uploads a file into the landing bucket as inbox/<source>/YYYY/MM/DD/<name>. */
  async drop(file: string, sourceName?: string, uploadedBy = os.userInfo().username): Promise<Dropped> {
    const name = path.basename(file);
    const source = sourceName ?? Sources.fromFileName(name)?.name ?? "unrecognized";
    const now = new Date();
    const day = now.toISOString().slice(0, 10).replaceAll("-", "/");
    const key = `inbox/${source}/${day}/${name}`;
    // Imports of the key so far: the upload's own import is a later one, however soon after an
    // earlier import of the same key it lands (a timestamp window would let that one answer).
    const {
      rows: [last],
    } = await this.pool.query<{ seq: string | null }>(
      "SELECT max(seq) AS seq FROM imports WHERE bucket = $1 AND object_key = $2",
      [this.bucket, key],
    );
    const afterSeq = Number(last?.seq ?? 0);
    await this.put(key, file, { "uploaded-by": uploadedBy });
    return { file, key, afterSeq };
  }

  /** Waits until the imports of these dropped files reach a terminal state; returns them in order. */
  waitFor(
    dropped: Dropped[],
    onProgress?: (rows: Import.ImportRow[]) => void | Promise<void>,
    timeoutMs = 6 * 3600_000,
  ): Promise<Import.ImportRow[]> {
    return this.waitUntilTerminal(
      () =>
        Promise.all(
          dropped.map(
            async (d) =>
              (
                await this.pool.query<Import.ImportRow>(
                  "SELECT * FROM imports WHERE bucket = $1 AND object_key = $2 AND seq > $3 AND replay_of IS NULL ORDER BY seq DESC LIMIT 1",
                  [this.bucket, d.key, d.afterSeq],
                )
              ).rows[0],
          ),
        ),
      onProgress,
      timeoutMs,
      dropped.map((d) => d.key).join(", "),
    );
  }

  /** Waits until these imports (by id) reach a terminal state; returns them in order. */
  waitForImports(
    ids: string[],
    onProgress?: (rows: Import.ImportRow[]) => void | Promise<void>,
    timeoutMs = 6 * 3600_000,
  ): Promise<Import.ImportRow[]> {
    return this.waitUntilTerminal(
      () =>
        Promise.all(
          ids.map(
            async (id) =>
              (await this.pool.query<Import.ImportRow>("SELECT * FROM imports WHERE id = $1", [id])).rows[0],
          ),
        ),
      onProgress,
      timeoutMs,
      ids.join(", "),
    );
  }

  private async waitUntilTerminal(
    lookup: () => Promise<(Import.ImportRow | undefined)[]>,
    onProgress: ((rows: Import.ImportRow[]) => void | Promise<void>) | undefined,
    timeoutMs: number,
    what: string,
  ): Promise<Import.ImportRow[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await lookup();
      for (const r of rows) if (r && !Import.TERMINAL.includes(r.status)) await this.failIfStuck(r);
      const found = rows.filter((r): r is Import.ImportRow => r !== undefined);
      await onProgress?.(found);
      if (found.length === rows.length && found.every((r) => Import.TERMINAL.includes(r.status))) {
        // The execution may still be at work after the status turned terminal (the failure alert): read its final state.
        await Promise.all(found.map((r) => this.executions.get(r.execution_name ?? r.id)?.promise));
        const final = await lookup();
        // A newer import of the same key may have registered meanwhile (an upload retried by the
        // S3 client is a second object-created event): wait for that one too.
        if (final.every((r) => r !== undefined && Import.TERMINAL.includes(r.status)))
          return final as Import.ImportRow[];
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for imports of ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** An execution that ended while its import is not terminal must not leave it silently open. */
  private async failIfStuck(row: Import.ImportRow): Promise<void> {
    const fresh = await Import.getImport(this.pool, row.id);
    const ex = this.executions.get(fresh.execution_name ?? fresh.id);
    if (!ex?.done) return;
    if (Import.TERMINAL.includes(fresh.status)) return;
    await Import.Lifecycle.executionEnded(
      this.pool,
      row.id,
      ex.error ? `${ex.error.name}: ${ex.error.message}` : "unknown",
    );
  }

  /** Moves a dropped inbox file aside so it is picked up once. */
  archive(file: string): void {
    const dir = path.join(this.paths.processed, new Date().toISOString().slice(0, 10));
    mkdirSync(dir, { recursive: true });
    let target = path.join(dir, path.basename(file));
    if (existsSync(target)) target = path.join(dir, `${Date.now()}-${path.basename(file)}`);
    renameSync(file, target);
  }

  /** Inbox files that could not be landed, each with the version (size, time) last alerted: one alert a version. */
  private readonly unlanded = new Map<string, string>();

  /**
   * The inbox watcher's step: uploads each file in the inbox folder into the landing bucket and
   * moves it aside (.processed/) once it is there, so it is picked up once. A file that cannot be
   * landed (a name that is not UTF-8, a read or upload that fails) stays in the inbox, its error
   * logged and alerted once (again only if the file changes); the other files go on.
   */
  async landInbox(): Promise<{ landed: Dropped[]; failed: { file: string; error: string; alerted: boolean }[] }> {
    const landed: Dropped[] = [];
    const failed: { file: string; error: string; alerted: boolean }[] = [];
    const entries = readdirSync(Buffer.from(this.paths.inbox), { withFileTypes: true, encoding: "buffer" })
      .filter((e) => e.isFile() && e.name[0] !== 0x2e)
      .flatMap((e) => {
        const where = Buffer.concat([Buffer.from(this.paths.inbox + path.sep), e.name]);
        const st = statSync(where, { throwIfNoEntry: false });
        // Gone since the listing (moved away by someone else): nothing to land.
        return st ? [{ name: e.name, where, version: `${st.size}:${st.mtimeMs}`, mtime: st.mtimeMs }] : [];
      })
      .sort((a, b) => a.mtime - b.mtime || Buffer.compare(a.name, b.name));
    for (const e of entries) {
      const file = e.where.toString("utf8");
      // By its bytes: two names that are not UTF-8 can read the same as text.
      const id = e.name.toString("hex");
      try {
        if (!isUtf8(e.name)) {
          throw new Error(
            "the file name is not UTF-8 text, and S3 keys are: rename the file (e.g. convmv -f latin1 -t utf8)",
          );
        }
        const dropped = await this.drop(file);
        this.archive(file);
        this.unlanded.delete(id);
        landed.push(dropped);
      } catch (err) {
        const error = `${(err as Error).name}: ${(err as Error).message}`;
        const alerted = this.unlanded.get(id) !== e.version;
        failed.push({ file, error, alerted });
        if (!alerted) continue;
        this.unlanded.set(id, e.version);
        this.recordAlert({
          time: new Date().toISOString(),
          topicArn: this.topicArn,
          subject: `leadpipe inbox: could not land ${path.basename(file)}`,
          message:
            `The inbox file ${file} could not be landed in the bucket and stays in the inbox: ${error}\n` +
            "It is tried again on every pass of the watcher; this alert is sent once (again if the file changes).",
        });
      }
    }
    return { landed, failed };
  }

  /**
   * Runs the people loop (stacks/people.asl.json) with its task on a worker, as its Lambda would run
   * (functions/resolve-people, invoked again while it stopped for time): one run at a time; a
   * request while it runs makes it run once more afterwards.
   */
  resolvePeopleSoon(): void {
    if (this.people.running) {
      this.people.again = true;
      return;
    }
    this.people.running = (async () => {
      do {
        this.people.again = false;
        try {
          this.peopleMachine ??= localStateMachine(peopleAslPath);
          const consumer = (async ({ Payload }: { Payload: unknown }) => ({
            Payload: await this.workers!.run(
              path.join(functionsDir, "resolve-people.ts"),
              Payload,
              this.context("resolve-people"),
            ),
          })) as unknown as (input: unknown) => Promise<never>;
          await this.peopleMachine.run({}, { overrides: { taskResourceLocalHandlers: { ResolvePeople: consumer } } })
            .result;
        } catch (err) {
          if (this.closing) return;
          // The Lambda's on-failure destination is the alert topic.
          this.recordAlert({
            time: new Date().toISOString(),
            topicArn: this.topicArn,
            subject: "leadpipe people resolution FAILED",
            message: `resolve-people failed: ${(err as Error).name}: ${(err as Error).message}`,
          });
        }
      } while (this.people.again && !this.closing);
    })().finally(() => {
      this.people.running = undefined;
    });
  }

  /** Resolves when the people consumer has nothing left to do (tests, `start --once`). */
  async peopleIdle(): Promise<void> {
    while (this.people.running) await this.people.running;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.schedules?.stop();
    this.pullerSchedules?.stop();
    this.syncSchedules?.stop();
    this.database?.stop();
    await Promise.allSettled([...this.pendingTriggers]);
    await Promise.allSettled([...this.executions.values()].map((e) => e.promise));
    if (this.s3) await this.mirrored();
    await this.workers?.close();
    const { resetPlatform } = (await import(path.join(functionsDir, "platform.ts"))) as {
      resetPlatform(): Promise<void>;
    };
    await resetPlatform();
    await this.pool?.end().catch(() => undefined);
    await this.endpoints?.close();
    await this.stopS3();
    await this.pg?.stop().catch(() => undefined);
    removeRuntime(this.paths.root);
    if (this.originalEnv) {
      for (const k of Object.keys(process.env)) if (!(k in this.originalEnv)) delete process.env[k];
      Object.assign(process.env, this.originalEnv);
      resetConfig();
    }
  }
}
