import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Integrations } from "@leadpipe/core";
import { homePaths } from "./home";

/** `$LEADPIPE_HOME/integrations.json`: the local runtime's connections to Pipedrive and RingCentral. */
export function integrationsFile(home?: string): string {
  return path.join(homePaths(home).root, "integrations.json");
}

export function readIntegrations(home?: string): Integrations.Integrations {
  const file = integrationsFile(home);
  if (!existsSync(file)) return {};
  return Integrations.parseIntegrations(readFileSync(file, "utf8"), file);
}
