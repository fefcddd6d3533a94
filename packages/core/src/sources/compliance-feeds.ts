import type { SourceSpec } from "./spec";
import { customers } from "./customers";
import { bookings } from "./bookings";
import { consentEvents } from "./consent-events";
import { suppressions } from "./suppressions";
import { dncAdditions, dncFull, dncRemovals } from "./dnc-registry";
import { internalOptOuts } from "./internal-opt-outs";

/** The compliance and audience feeds (sources/index.ts lists them with every other source). */
export const complianceFeeds: readonly SourceSpec[] = [
  customers,
  bookings,
  consentEvents,
  suppressions,
  dncFull,
  dncAdditions,
  dncRemovals,
  internalOptOuts,
];
