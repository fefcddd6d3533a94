/**
 * The USPS Intelligent Mail barcode (USPS-B-3200), written here with no runtime dependency:
 *
 *   import { Imb } from "@leadpipe/core";
 *   Imb.encode("01234567094987654321", "01234567891"); // "AADTFFDFTD..."
 *   Imb.decode(bars);                                  // { tracking, routing, mailerId, ... }
 *   Imb.parse(anyEncoding);                            // { tracking, routing, repaired, encoding }
 *   Imb.tryParse(cell);                                // { ok: false, error: "imb: ..." } on a bad row
 */
export * as Imb from "./api.ts";
export * from "./errors.ts";
export type { ImbDecoded, ImbDecodeOptions } from "./codec.ts";
export type { ImbCanonical, ImbEncoding, ImbFields, ImbInput, ImbParseOptions, ImbParseResult } from "./parse.ts";
