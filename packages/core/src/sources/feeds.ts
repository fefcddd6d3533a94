import type { SourceSpec } from "./spec";
import { partnerADeliveries } from "./partner-a-deliveries";
import { partnerBDeliveries } from "./partner-b-deliveries";
import { partnerCDeliveries } from "./partner-c-deliveries";
import { partnerDDeliveries } from "./partner-d-deliveries";
import { callCenterResponses } from "./call-center-responses";
import { ringcentralCalls } from "./ringcentral-calls";

/** The delivery-confirmation feeds (one per partner), the call center's responses and RingCentral's call log. */
export const feedSpecs: readonly SourceSpec[] = [
  partnerADeliveries,
  partnerBDeliveries,
  partnerCDeliveries,
  partnerDDeliveries,
  callCenterResponses,
  ringcentralCalls,
];
