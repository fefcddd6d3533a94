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

/**
 * The definition as a JSON string with the chunk Map's MaxConcurrency set for the stage.
 * The file's own value stays the local runtime's default.
 */
export function ingestDefinition(options: { mapMaxConcurrency: number }): string {
  const definition = structuredClone(ingestAsl) as { States: Record<string, { Type: string }> };
  const map = definition.States[CHUNK_MAP_STATE];
  if (map?.Type !== "Map") {
    throw new Error(`stacks/ingest.asl.json: expected a Map state named "${CHUNK_MAP_STATE}" (the chunk fan-out)`);
  }
  (map as MapState).MaxConcurrency = options.mapMaxConcurrency;
  return JSON.stringify(definition, null, 2);
}
