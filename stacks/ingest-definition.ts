import ingestAsl from "./ingest.asl.json";

/**
 * The ingest state machine's definition, from stacks/ingest.asl.json: the same file the local
 * runtime executes. The file names each Lambda by a `${...}` placeholder that CloudFormation
 * replaces (definitionSubstitutions); this module only sets what differs per stage.
 */

/** The Map state that fans out over the chunks; its MaxConcurrency is a per-stage setting. */
export const CHUNK_MAP_STATE = "ProcessChunks";

/** Every `${Name}` placeholder in an ASL text, sorted and without duplicates. */
export function placeholdersIn(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]!))].sort();
}

interface MapState {
  Type: "Map";
  MaxConcurrency?: number;
}

export interface IngestOptions {
  /** MaxConcurrency of the chunk Map (the file's own value stays the local runtime's default). */
  mapMaxConcurrency: number;
  /**
   * The execution's TimeoutSeconds. Set here because CDK's `timeout` prop is silently dropped
   * when the definition comes from DefinitionBody.fromString.
   */
  timeoutSeconds: number;
}

/** The definition as a JSON string, with the stage's settings applied. */
export function ingestDefinition(options: IngestOptions): string {
  return stageDefinition(ingestAsl, "stacks/ingest.asl.json", CHUNK_MAP_STATE, options);
}

/**
 * An ASL file's definition as a JSON string with a stage's settings: its fan-out Map states'
 * MaxConcurrency and the execution's TimeoutSeconds (the legacy migration's machine too, two Maps).
 */
export function stageDefinition(
  asl: object,
  file: string,
  mapStates: string | readonly string[],
  options: IngestOptions,
): string {
  const definition = structuredClone(asl) as {
    TimeoutSeconds?: number;
    States: Record<string, { Type: string }>;
  };
  for (const mapState of typeof mapStates === "string" ? [mapStates] : mapStates) {
    const map = definition.States[mapState];
    if (map?.Type !== "Map") throw new Error(`${file}: expected a Map state named "${mapState}" (the fan-out)`);
    (map as MapState).MaxConcurrency = options.mapMaxConcurrency;
  }
  definition.TimeoutSeconds = options.timeoutSeconds;
  return JSON.stringify(definition, null, 2);
}
