/**
 * Every encoding partners send, in; one canonical key (20-digit tracking + routing), out.
 */
import {
  OK,
  checkTrackingRouting,
  decodeBars,
  decodedRouting,
  decodedTracking,
  failWith,
  lastDecodeRepaired,
  statusCode,
  statusError,
  statusMessage,
} from "./codec.ts";
import type { ImbErrorCode } from "./errors.ts";

export type ImbEncoding = "bars" | "numeric" | "fields";

/** The canonical form of a mail piece's barcode. */
export interface ImbCanonical {
  /** The 20-digit tracking code. */
  tracking: string;
  /** The routing code: "", or 5, 9 or 11 digits. */
  routing: string;
  /** True when the bars failed their checks and exactly one single-bar correction passed. */
  repaired: boolean;
  /** Which encoding the input was in. */
  encoding: ImbEncoding;
}

/** The component fields of a barcode, as digit strings (numbers would lose leading zeros). */
export interface ImbFields {
  barcodeId: string;
  serviceTypeId: string;
  /** 6 digits, or 9 when it starts with 9. */
  mailerId: string;
  /** 9 digits after a 6-digit mailer id, 6 after a 9-digit one. */
  serialNumber: string;
  /** "", or 5, 9 or 11 digits; absent means no routing code. */
  routing?: string | null;
}

export type ImbInput = string | ImbFields;

export interface ImbParseOptions {
  /** Accept a bar string that one single-bar correction repairs (flagged `repaired`). Default true. */
  repair?: boolean;
}

export type ImbParseResult = ({ ok: true } & ImbCanonical) | { ok: false; error: string; code: ImbErrorCode };

let parsedTracking = "";
let parsedRouting = "";
let parsedRepaired = false;
let parsedEncoding: ImbEncoding = "bars";

function accept(tracking: string, routing: string, repaired: boolean, encoding: ImbEncoding): number {
  parsedTracking = tracking;
  parsedRouting = routing;
  parsedRepaired = repaired;
  parsedEncoding = encoding;
  return OK;
}

/** The longest numeric form: 20 tracking digits + 11 routing digits. */
const MAX_NUMERIC_DIGITS = 31;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function parseInput(input: unknown, repair: boolean): number {
  if (typeof input === "string") return parseString(input, repair);
  if (input !== null && typeof input === "object") return parseFields(input as Record<string, unknown>);
  return failWith(
    "IMB_FORMAT",
    `imb: expected a bar string, a numeric string or a fields object, got ${describe(input)}`,
  );
}

function parseString(raw: string, repair: boolean): number {
  const text = raw.trim();
  if (text.length === 0) return failWith("IMB_FORMAT", "imb: empty barcode");
  const first = text.charCodeAt(0);
  if (isLetter(first) || (isDigit(first) && looksLikeDigitBars(text))) {
    const status = decodeBars(text, repair);
    if (status !== OK) return status;
    return accept(decodedTracking(), decodedRouting(), lastDecodeRepaired(), "bars");
  }
  if (isDigit(first)) return parseNumeric(text);
  return failWith("IMB_FORMAT", `imb: ${JSON.stringify(truncate(text))} is neither a bar string nor a numeric barcode`);
}

/**
 * Longer than any numeric form and either all 0-3, or 64-66 characters (a bar string with a
 * bar too many, too few or out of the alphabet reads better as a bar error).
 */
function looksLikeDigitBars(text: string): boolean {
  const length = text.length;
  if (length <= MAX_NUMERIC_DIGITS) return false;
  if (length >= 64 && length <= 66) return true;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 51) return false;
  }
  return true;
}

/** 20, 25, 29 or 31 digits, spaces and dashes between them ignored. */
function parseNumeric(text: string): number {
  let digits = text;
  let separators = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (isDigit(code)) continue;
    if (code === 32 || code === 45) {
      separators++;
      continue;
    }
    return failWith(
      "IMB_ALPHABET",
      `imb: numeric barcode has ${JSON.stringify(text[index])} at position ${index + 1}, expected digits, spaces or dashes`,
    );
  }
  if (separators > 0) digits = text.replace(/[ -]/g, "");
  const length = digits.length;
  if (length !== 20 && length !== 25 && length !== 29 && length !== 31) {
    return failWith("IMB_LENGTH", `imb: numeric barcode has ${length} digits, expected 20, 25, 29 or 31`);
  }
  const tracking = length === 20 ? digits : digits.slice(0, 20);
  const routing = length === 20 ? "" : digits.slice(20);
  const status = checkTrackingRouting(tracking, routing);
  return status === OK ? accept(tracking, routing, false, "numeric") : status;
}

/** Reads one digit field; returns its digits, or a number (a status) when it is wrong. */
function digitField(
  fields: Record<string, unknown>,
  name: string,
  lengths: readonly number[],
  optional = false,
): string | number {
  const value = fields[name];
  if (value === undefined || value === null) {
    if (optional) return "";
    return failWith("IMB_FORMAT", `imb: field ${name} is missing`);
  }
  if (typeof value !== "string") {
    return failWith("IMB_FORMAT", `imb: field ${name} must be a string of digits, got ${describe(value)}`);
  }
  const digits = value.trim();
  for (let index = 0; index < digits.length; index++) {
    if (!isDigit(digits.charCodeAt(index))) {
      return failWith(
        "IMB_ALPHABET",
        `imb: field ${name} has ${JSON.stringify(digits[index])} at position ${index + 1}, expected a digit`,
      );
    }
  }
  if (!lengths.includes(digits.length)) {
    const expected = lengths.length === 1 ? `${lengths[0]}` : `${lengths.slice(0, -1).join(", ")} or ${lengths.at(-1)}`;
    return failWith("IMB_LENGTH", `imb: field ${name} has ${digits.length} digits, expected ${expected}`);
  }
  return digits;
}

function parseFields(fields: Record<string, unknown>): number {
  const barcodeId = digitField(fields, "barcodeId", [2]);
  if (typeof barcodeId === "number") return barcodeId;
  const serviceTypeId = digitField(fields, "serviceTypeId", [3]);
  if (typeof serviceTypeId === "number") return serviceTypeId;
  const mailerId = digitField(fields, "mailerId", [6, 9]);
  if (typeof mailerId === "number") return mailerId;
  const startsWith9 = mailerId.charCodeAt(0) === 57;
  if (startsWith9 !== (mailerId.length === 9)) {
    return failWith(
      "IMB_LENGTH",
      startsWith9
        ? `imb: field mailerId ${mailerId} starts with 9, so it must have 9 digits`
        : `imb: field mailerId ${mailerId} has 9 digits, so it must start with 9`,
    );
  }
  const serialNumber = digitField(fields, "serialNumber", [15 - mailerId.length]);
  if (typeof serialNumber === "number") return serialNumber;
  const routing = digitField(fields, "routing", [0, 5, 9, 11], true);
  if (typeof routing === "number") return routing;
  const tracking = barcodeId + serviceTypeId + mailerId + serialNumber;
  const status = checkTrackingRouting(tracking, routing);
  return status === OK ? accept(tracking, routing, false, "fields") : status;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return JSON.stringify(truncate(value));
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return `${typeof value} ${String(value)}`;
  return typeof value;
}

/**
 * The canonical tracking and routing codes of a barcode in any encoding partners send: the
 * 65-bar string (F/A/D/T in any case, or 0-3 for T/D/A/F; surrounding whitespace ignored), the
 * numeric string of 20, 25, 29 or 31 digits (spaces and dashes ignored), or the component
 * fields. Throws a typed ImbError whose message starts with "imb: ".
 */
export function parse(input: ImbInput, options?: ImbParseOptions): ImbCanonical {
  const status = parseInput(input, options?.repair !== false);
  if (status !== OK) throw statusError(status);
  return { tracking: parsedTracking, routing: parsedRouting, repaired: parsedRepaired, encoding: parsedEncoding };
}

/**
 * parse() without exceptions, for the ingest pipeline's per-row decode: a barcode that does not
 * parse is `{ ok: false, error: "imb: ..." }`, a rejected row with that reason.
 */
export function tryParse(input: unknown, options?: ImbParseOptions): ImbParseResult {
  const status = parseInput(input, options?.repair !== false);
  if (status !== OK) return { ok: false, error: statusMessage(status), code: statusCode(status) };
  return {
    ok: true,
    tracking: parsedTracking,
    routing: parsedRouting,
    repaired: parsedRepaired,
    encoding: parsedEncoding,
  };
}
