import path from "node:path";
import type { SourceSpec } from "./spec";
import { partnerBMortgages } from "./partner-b-mortgages";
import { feedSpecs } from "./feeds";
import { complianceFeeds } from "./compliance-feeds";
import { partnerAMortgages } from "./partner-a-mortgages";
import { partnerCMortgages } from "./partner-c-mortgages";
import { partnerDMortgages } from "./partner-d-mortgages";
import { barcodeMap } from "./barcode-map";
import { contactSources } from "./contacts";
import { mailProductionSpecs } from "./mail-production";
import { legacyContacts } from "./legacy-contacts";
import { legacyCampaigns, legacyTouchpoints } from "./legacy-campaigns";

export type { SourceSpec } from "./spec";
export { chunkDialect } from "./spec";
// The specs the fixture generators write files for (packages/local/src/generate).
export { partnerAMortgages, partnerBMortgages, partnerCMortgages, partnerDMortgages, barcodeMap, mailProductionSpecs };
export { partnerADeliveries } from "./partner-a-deliveries";
export { partnerBDeliveries } from "./partner-b-deliveries";
export { partnerCDeliveries } from "./partner-c-deliveries";
export { partnerDDeliveries } from "./partner-d-deliveries";
export { callCenterResponses } from "./call-center-responses";

/** Every known source. Adding a partner is one spec file and one line here. */
export const all: readonly SourceSpec[] = [
  partnerBMortgages,
  ...feedSpecs,
  ...complianceFeeds,
  partnerAMortgages,
  partnerCMortgages,
  partnerDMortgages,
  barcodeMap,
  ...contactSources,
  ...mailProductionSpecs,
  legacyContacts,
  legacyCampaigns,
  legacyTouchpoints,
];

/** Look-ups over a list of specs: the pipeline's over `all`; a test's over its own list. */
export function registry(specs: readonly SourceSpec[]) {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const fromFileName = (fileName: string): SourceSpec | undefined => specs.find((s) => s.fileName.test(fileName));
  return {
    get: (name: string): SourceSpec | undefined => byName.get(name),
    fromFileName,
    /**
     * The source of a landed object: the inbox/<source>/ segment of its key when that names a
     * source, else the first spec whose file-name pattern matches the file name.
     */
    identify(key: string): SourceSpec | undefined {
      const m = /^inbox\/([^/]+)\//.exec(key);
      const fromPrefix = m ? byName.get(m[1]!) : undefined;
      return fromPrefix ?? fromFileName(path.posix.basename(key));
    },
    names: (): string[] => specs.map((s) => s.name),
    /** Partners that have a source of their own (a file naming any other partner is refused). */
    partners: (): string[] => [...new Set(specs.map((s) => s.partner).filter((p): p is string => p !== null))].sort(),
  };
}

export const { get, fromFileName, identify, names, partners } = registry(all);

/** The partner a landed object belongs to: the spec's own, else the one its file name names (upper-cased). */
export function partnerOf(spec: SourceSpec, key: string): string | null {
  if (spec.partner) return spec.partner;
  const m = spec.partnerFromFileName?.exec(path.posix.basename(key));
  return m?.[1] ? m[1].toUpperCase() : null;
}
