import type { SourceSpec } from "./spec";
import { partnerADeliveries } from "./partner-a-deliveries";
import { partnerBDeliveries } from "./partner-b-deliveries";
import { partnerCDeliveries } from "./partner-c-deliveries";
import { partnerDDeliveries } from "./partner-d-deliveries";
import { callCenterResponses } from "./call-center-responses";

/** The delivery-confirmation feeds (one per partner) and the call center's responses. */
export const feedSpecs: readonly SourceSpec[] = [
  partnerADeliveries,
  partnerBDeliveries,
  partnerCDeliveries,
  partnerDDeliveries,
  callCenterResponses,
];
