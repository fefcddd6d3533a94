import { GetObjectCommand } from "@aws-sdk/client-s3";
import { StateMachine } from "aws-local-stepfunctions";
import { legacyAslPath, localDefinition, type AslDefinition, type LocalPlatform } from "./platform";

type State = Record<string, unknown> & { Type: string; Next?: string; Default?: string };
type States = Record<string, State>;

/** The local function a Task's `FunctionName` binds (`…:function:leadpipe-local-LegacyOpen` → legacy-open). */
function moduleOf(state: State): string | undefined {
  const fn = (state.Parameters as { FunctionName?: string } | undefined)?.FunctionName;
  const name = fn?.match(/:function:leadpipe-local-(\w+)$/)?.[1];
  return name?.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/**
 * What aws-local-stepfunctions (3.x) cannot run of a Distributed Map, made of what it can: it ignores
 * ProcessorConfig (the items run as inline iterations, MaxConcurrency still holds) and has no ItemReader,
 * so each Map's ItemReader becomes a Task of the same Parameters just before it (its handler reads the
 * object from the local S3) whose result the Map iterates (ItemsPath). It has no ResultWriter either: the
 * field is removed, and the items' outputs are discarded with the Map's result (ResultPath null), as the
 * export would leave them out of the state. Everything else is the file as is; test/infra asserts the
 * Distributed-Map fields themselves.
 */
export function withLocalItemReaders(definition: AslDefinition): { definition: AslDefinition; readers: string[] } {
  const def = structuredClone(definition) as unknown as { StartAt: string; States: States };
  const readers: string[] = [];
  for (const [name, state] of Object.entries(def.States)) {
    const reader = state.ItemReader as { Parameters: Record<string, unknown> } | undefined;
    if (state.Type !== "Map" || !reader) continue;
    const readerState = `${name}ItemReader`;
    const itemsPath = `$.${readerState}Items`;
    const retarget = (s: Record<string, unknown>) => {
      for (const k of ["Next", "Default"]) if (s[k] === name) s[k] = readerState;
      for (const c of [
        ...((s.Choices as Record<string, unknown>[]) ?? []),
        ...((s.Catch as Record<string, unknown>[]) ?? []),
      ])
        if (c.Next === name) c.Next = readerState;
    };
    for (const s of Object.values(def.States)) retarget(s);
    if (def.StartAt === name) def.StartAt = readerState;
    def.States[readerState] = {
      Type: "Task",
      Resource: "arn:aws:states:::s3:getObject",
      Parameters: reader.Parameters,
      ResultPath: itemsPath,
      Next: name,
    };
    delete state.ItemReader;
    delete state.ResultWriter;
    state.ItemsPath = itemsPath;
    readers.push(readerState);
  }
  return { definition: def as unknown as AslDefinition, readers };
}

export interface LegacyMachineOptions {
  /** Milliseconds the Wait states (imports, people) wait locally (default 200). */
  waitMs?: number;
  /** Milliseconds between retries (default 50). */
  retryMs?: number;
  /** Called before each task runs its handler (a test fails one on purpose). */
  beforeTask?: (state: string, payload: unknown) => Promise<void> | void;
}

/**
 * Runs stacks/legacy-migration.asl.json on the local platform: each Task bound to its handler in
 * functions/ (invoked as its Lambda would be), each ItemReader reading the platform's bucket.
 */
export async function runLegacyMachine(
  platform: LocalPlatform,
  input: Record<string, unknown>,
  opts: LegacyMachineOptions = {},
): Promise<unknown> {
  const { definition, readers } = withLocalItemReaders(localDefinition(legacyAslPath));
  const machine = new StateMachine(definition);
  type Local = (input: unknown) => Promise<never>;
  const handlers: Record<string, Local> = {};
  const states: States = {};
  const collect = (s: States) => {
    for (const [name, state] of Object.entries(s)) {
      states[name] = state;
      const inner = (state.ItemProcessor ?? state.Iterator) as { States: States } | undefined;
      if (inner) collect(inner.States);
    }
  };
  collect((definition as unknown as { States: States }).States);
  for (const [name, state] of Object.entries(states)) {
    const module = moduleOf(state);
    if (!module) continue;
    handlers[name] = (async ({ Payload }: { Payload: unknown }) => {
      await opts.beforeTask?.(name, Payload);
      return { Payload: await platform.invoke(module, Payload) };
    }) as unknown as Local;
  }
  for (const name of readers) {
    handlers[name] = (async ({ Bucket, Key }: { Bucket: string; Key: string }) => {
      const got = await platform.s3.send(new GetObjectCommand({ Bucket, Key }));
      return JSON.parse(await got.Body!.transformToString());
    }) as unknown as Local;
  }
  const waits = Object.entries(states).filter(([, s]) => s.Type === "Wait");
  const retried = Object.entries(states).filter(([, s]) => s.Retry);
  const execution = machine.run(input as Parameters<StateMachine["run"]>[0], {
    overrides: {
      taskResourceLocalHandlers: handlers,
      waitTimeOverrides: Object.fromEntries(waits.map(([n]) => [n, opts.waitMs ?? 200])),
      retryIntervalOverrides: Object.fromEntries(retried.map(([n]) => [n, opts.retryMs ?? 50])),
    },
  });
  return execution.result;
}
