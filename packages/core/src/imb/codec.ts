/**
 * The Intelligent Mail barcode codec (USPS-B-3200), on plain numbers.
 *
 * The 102-bit binary data lives in five limbs of 24 bits (the top one holds 6 bits), so every
 * step (multiply-add by 10^6 or 1365², long division by 636·1365 or 1365², the CRC's bytes)
 * stays far below 2^53 and needs no BigInt and no string arithmetic. The working state is
 * module-level and reused: encode and decode allocate only the strings they return.
 *
 * The core functions report failure with a status number (and details in module variables)
 * instead of throwing, so that tryParse can reject a row without the cost of an exception;
 * the public wrappers turn a status into a typed error.
 */
import { IMB_ERRORS, type ImbError, type ImbErrorCode } from "./errors.ts";
import * as tables from "./tables.ts";

// The tables, bound to local constants once: some loaders (CommonJS interop, test runners)
// turn every use of an imported binding into a getter call, which in these loops costs more
// than the arithmetic (5× slower encode and decode when measured).
const BAR_COUNT = tables.BAR_COUNT;
const STATE_LETTERS = tables.STATE_LETTERS;
const INVERTED = tables.INVERTED;
const barsToCharacters = tables.barsToCharacters;
const statesToCharacters = tables.statesToCharacters;
const charactersToStates = tables.charactersToStates;
const CODEWORD_TO_CHARACTER = tables.CODEWORD_TO_CHARACTER;
const CHARACTER_TO_CODEWORD = tables.CHARACTER_TO_CODEWORD;
const CRC_BYTE = tables.CRC_BYTE;
const CRC_FIRST = tables.CRC_FIRST;

/** A decoded barcode. Routing parts that the barcode does not carry are empty strings. */
export interface ImbDecoded {
  /** The 20-digit tracking code. */
  tracking: string;
  /** The routing code: "", or 5, 9 or 11 digits. */
  routing: string;
  barcodeId: string;
  serviceTypeId: string;
  /** 6 digits, or 9 when it starts with 9. */
  mailerId: string;
  /** 9 digits after a 6-digit mailer id, 6 after a 9-digit one. */
  serialNumber: string;
  zip: string;
  plus4: string;
  deliveryPoint: string;
  /** True when the bars failed their checks and exactly one single-bar correction passed. */
  repaired: boolean;
}

export interface ImbDecodeOptions {
  /**
   * Try every single-bar correction when the bars fail their checks, and accept the one
   * candidate that passes (flagged `repaired: true`). Default false: decode is exact.
   */
  repair?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Status: what went wrong, without allocating.

export const OK = 0;
const TRACKING_LENGTH = 1;
const TRACKING_DIGIT = 2;
const ROUTING_LENGTH = 3;
const ROUTING_DIGIT = 4;
const BARCODE_ID = 5;
const BARS_LENGTH = 6;
const BARS_ALPHABET = 7;
const BARS_MIXED_ALPHABET = 8;
const CHARACTER = 9;
const CODEWORD_RANGE = 10;
const VALUE_RANGE = 11;
const FRAME_CHECK = 12;
/** Status reported by parse.ts through failWith(). */
export const CUSTOM = 13;

let detail1 = 0;
let detail2 = 0;
let detailText = "";
let customCode: ImbErrorCode = "IMB_FORMAT";
/** Set by the repairing decoder: how many single-bar corrections passed (0 or more than 1). */
let repairCandidates = -1;

function fail(status: number, first = 0, second = 0): number {
  detail1 = first;
  detail2 = second;
  return status;
}

/** Records a failure found outside the codec (parse.ts), for statusMessage / statusError. */
export function failWith(code: ImbErrorCode, message: string): number {
  customCode = code;
  detailText = message;
  return CUSTOM;
}

const LETTERS = "ABCDEFGHIJ";

function quoted(code: number): string {
  return JSON.stringify(String.fromCharCode(code));
}

/** The "imb: ..." reason for the last failure. */
export function statusMessage(status: number): string {
  const repairs =
    repairCandidates < 0
      ? ""
      : repairCandidates === 0
        ? "; no single-bar repair passes"
        : `; ${repairCandidates} single-bar repairs pass, ambiguous`;
  switch (status) {
    case TRACKING_LENGTH:
      return `imb: tracking code has ${detail1} digits, expected 20`;
    case TRACKING_DIGIT:
      return `imb: tracking code has ${quoted(detail2)} at position ${detail1 + 1}, expected a digit`;
    case ROUTING_LENGTH:
      return `imb: routing code has ${detail1} digits, expected 0, 5, 9 or 11`;
    case ROUTING_DIGIT:
      return `imb: routing code has ${quoted(detail2)} at position ${detail1 + 1}, expected a digit`;
    case BARCODE_ID:
      return `imb: second digit of the barcode identifier is ${detail1}, expected 0-4`;
    case BARS_LENGTH:
      return `imb: bar string has ${detail1} bars, expected 65`;
    case BARS_ALPHABET:
      return `imb: bar ${detail1 + 1} is ${quoted(detail2)}, expected one of F, A, D, T (or 3, 2, 1, 0)`;
    case BARS_MIXED_ALPHABET:
      return `imb: bar ${detail1 + 1} is ${quoted(detail2)}, the bar string mixes the letter and digit alphabets`;
    case CHARACTER:
      return `imb: character ${LETTERS[detail1]} is in neither character table${repairs}`;
    case CODEWORD_RANGE:
      return `imb: codeword ${LETTERS[detail1]} is ${detail2}, out of range${repairs}`;
    case VALUE_RANGE:
      return `imb: codewords decode to a routing value out of range${repairs}`;
    case FRAME_CHECK:
      return `imb: frame check mismatch (bars carry ${hex(detail1)}, data gives ${hex(detail2)})${repairs}`;
    case CUSTOM:
      return detailText;
    default:
      return `imb: unknown failure ${status}`;
  }
}

function hex(fcs: number): string {
  return "0x" + fcs.toString(16).toUpperCase().padStart(3, "0");
}

export function statusCode(status: number): ImbErrorCode {
  switch (status) {
    case TRACKING_LENGTH:
    case ROUTING_LENGTH:
    case BARS_LENGTH:
      return "IMB_LENGTH";
    case TRACKING_DIGIT:
    case ROUTING_DIGIT:
    case BARS_ALPHABET:
    case BARS_MIXED_ALPHABET:
      return "IMB_ALPHABET";
    case BARCODE_ID:
      return "IMB_BARCODE_ID";
    case CHARACTER:
      return "IMB_CHARACTER";
    case CODEWORD_RANGE:
    case VALUE_RANGE:
      return "IMB_CODEWORD_RANGE";
    case FRAME_CHECK:
      return "IMB_FRAME_CHECK";
    default:
      return customCode;
  }
}

/** The typed error for the last failure. */
export function statusError(status: number): ImbError {
  return new IMB_ERRORS[statusCode(status)](statusMessage(status));
}

// ---------------------------------------------------------------------------------------------
// Working state.

const LIMB = 16777216; // 2^24
const INVERSE_LIMB = 1 / LIMB;
const BASE_1365_SQUARED = 1365 * 1365;
const BASE_636_1365 = 636 * 1365;
const MILLION = 1_000_000;
const INVERSE_1365_SQUARED = 1 / BASE_1365_SQUARED;
const INVERSE_636_1365 = 1 / BASE_636_1365;
const INVERSE_MILLION = 1 / MILLION;

/** The binary data, least significant limb first. */
const limbs = new Float64Array(5);
const codewords = new Int32Array(10);
const characters = new Int32Array(10);
/** Bar states (0 = T, 1 = D, 2 = A, 3 = F), the input of decode and the output of encode. */
const states = new Uint8Array(BAR_COUNT);

/** What decodeCharacters found: tracking digits 1-2, the three 6-digit groups, the routing code. */
let trackingDigit0 = 0;
let trackingDigit1 = 0;
let group1 = 0;
let group2 = 0;
let group3 = 0;
let routingLength = 0;
let routingValue = 0;

/** data = value, for a value below 2^48. */
function setLimbs(value: number): void {
  const low = value % LIMB;
  limbs[0] = low;
  limbs[1] = (value - low) / LIMB;
  limbs[2] = 0;
  limbs[3] = 0;
  limbs[4] = 0;
}

/**
 * data = data * multiplier + addend, over the limbs below `used` (the caller knows from the
 * value's bound how many limbs the result needs). multiplier below 2^21: products below 2^45.
 */
function multiplyAdd(multiplier: number, addend: number, used: number): void {
  let carry = addend;
  for (let index = 0; index < used; index++) {
    const product = limbs[index]! * multiplier + carry;
    carry = Math.floor(product * INVERSE_LIMB);
    limbs[index] = product - carry * LIMB;
  }
}

/**
 * Divides the data in place by a divisor below 2^21, from limb `top` down (the limbs above it
 * are zero); returns the remainder. Multiplying by the reciprocal estimates each quotient
 * digit to within one, and the remainder's sign and size correct it: a multiplication is
 * cheaper than a division in this chain, where each step waits for the one before.
 */
function divideRemainder(divisor: number, inverse: number, top: number): number {
  let remainder = 0;
  for (let index = top; index >= 0; index--) {
    const dividend = remainder * LIMB + limbs[index]!;
    let quotient = Math.floor(dividend * inverse);
    remainder = dividend - quotient * divisor;
    if (remainder < 0) {
      quotient--;
      remainder += divisor;
    } else if (remainder >= divisor) {
      quotient++;
      remainder -= divisor;
    }
    limbs[index] = quotient;
  }
  return remainder;
}

/** The 11-bit CRC over the 102 bits, as 13 right-justified bytes, most significant first. */
function frameCheck(): number {
  let fcs = CRC_FIRST[limbs[4]!]!;
  for (let index = 3; index >= 0; index--) {
    const limb = limbs[index]!;
    fcs = ((fcs << 8) & 0x7ff) ^ CRC_BYTE[((fcs >> 3) ^ (limb >> 16)) & 0xff]!;
    fcs = ((fcs << 8) & 0x7ff) ^ CRC_BYTE[((fcs >> 3) ^ (limb >> 8)) & 0xff]!;
    fcs = ((fcs << 8) & 0x7ff) ^ CRC_BYTE[((fcs >> 3) ^ limb) & 0xff]!;
  }
  return fcs;
}

/** Routing-code conversion: the value the specification adds for each routing length. */
function routingOffset(length: number): number {
  return length === 5 ? 1 : length === 9 ? 100_001 : length === 11 ? 1_000_100_001 : 0;
}

// ---------------------------------------------------------------------------------------------
// Encode.

/** Validates tracking and routing, fills `states`. */
function encodeStates(tracking: string, routing: string): number {
  if (tracking.length !== 20) return fail(TRACKING_LENGTH, tracking.length);
  const routingDigits = routing.length;
  if (routingDigits !== 0 && routingDigits !== 5 && routingDigits !== 9 && routingDigits !== 11) {
    return fail(ROUTING_LENGTH, routingDigits);
  }
  let value = 0;
  for (let index = 0; index < routingDigits; index++) {
    const digit = routing.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return fail(ROUTING_DIGIT, index, routing.charCodeAt(index));
    value = value * 10 + digit;
  }
  if (routingDigits !== 0) value += routingOffset(routingDigits);

  const digit0 = tracking.charCodeAt(0) - 48;
  if (digit0 < 0 || digit0 > 9) return fail(TRACKING_DIGIT, 0, tracking.charCodeAt(0));
  const digit1 = tracking.charCodeAt(1) - 48;
  if (digit1 < 0 || digit1 > 9) return fail(TRACKING_DIGIT, 1, tracking.charCodeAt(1));
  if (digit1 > 4) return fail(BARCODE_ID, digit1);
  setLimbs((value * 10 + digit0) * 5 + digit1); // below 2^43
  // Each group of six digits adds 20 bits: the data needs 3 limbs, then 4, then all 5.
  for (let start = 2, used = 3; start < 20; start += 6, used++) {
    let group = 0;
    for (let index = start; index < start + 6; index++) {
      const digit = tracking.charCodeAt(index) - 48;
      if (digit < 0 || digit > 9) return fail(TRACKING_DIGIT, index, tracking.charCodeAt(index));
      group = group * 10 + digit;
    }
    multiplyAdd(MILLION, group, used);
  }

  const fcs = frameCheck();

  // Codewords: J in base 636, I..B in base 1365, A what is left (0..658); two at a time.
  // Each division takes about 20 bits: the data drops from 5 limbs to 4, 3, 2, then fits in one.
  let pair = divideRemainder(BASE_636_1365, INVERSE_636_1365, 4);
  let low1365 = pair % 636;
  codewords[9] = low1365 * 2; // J, doubled: its low bit is the orientation
  codewords[8] = (pair - low1365) / 636;
  for (let index = 7, top = 3; index >= 3; index -= 2, top--) {
    pair = divideRemainder(BASE_1365_SQUARED, INVERSE_1365_SQUARED, top);
    low1365 = pair % 1365;
    codewords[index] = low1365;
    codewords[index - 1] = (pair - low1365) / 1365;
  }
  pair = limbs[0]!;
  low1365 = pair % 1365;
  codewords[1] = low1365;
  codewords[0] = (pair - low1365) / 1365 + (fcs & 0x400 ? 659 : 0);

  for (let index = 0; index < 10; index++) {
    const character = CODEWORD_TO_CHARACTER[codewords[index]!]!;
    characters[index] = (fcs >> index) & 1 ? character ^ 0x1fff : character;
  }
  charactersToStates(characters, states);
  return OK;
}

const LETTER_CODES = Array.from(STATE_LETTERS, (letter) => letter.charCodeAt(0));
const barCodes: number[] = new Array<number>(BAR_COUNT).fill(0);

/**
 * The 65-character bar string (F, A, D, T) for a 20-digit tracking code and a routing code of
 * 0, 5, 9 or 11 digits. Throws ImbLengthError, ImbAlphabetError or ImbBarcodeIdError.
 */
export function encode(tracking: string, routing = ""): string {
  const status = encodeStates(String(tracking), String(routing));
  if (status !== OK) throw statusError(status);
  for (let bar = 0; bar < BAR_COUNT; bar++) barCodes[bar] = LETTER_CODES[states[bar]!]!;
  return String.fromCharCode.apply(null, barCodes);
}

// ---------------------------------------------------------------------------------------------
// Decode.

/** UTF-16 code unit to bar state, per alphabet; -1 outside it. */
const LETTER_STATE = new Int8Array(65536).fill(-1);
const DIGIT_STATE = new Int8Array(65536).fill(-1);
for (let state = 0; state < 4; state++) {
  LETTER_STATE[STATE_LETTERS.charCodeAt(state)] = state;
  LETTER_STATE[STATE_LETTERS.toLowerCase().charCodeAt(state)] = state;
  DIGIT_STATE[48 + state] = state;
}

/** The alphabet of a bar string, chosen by its first bar. */
function alphabetOf(bars: string): Int8Array {
  const first = bars.charCodeAt(0);
  return first >= 48 && first <= 57 ? DIGIT_STATE : LETTER_STATE;
}

/**
 * Reads a bar string into `characters`: exactly 65 bars, all F/A/D/T (either case) or all
 * 3/2/1/0.
 */
function readBars(bars: string): number {
  if (bars.length !== BAR_COUNT) return fail(BARS_LENGTH, bars.length);
  const alphabet = alphabetOf(bars);
  return barsToCharacters(bars, alphabet, characters) < 0 ? alphabetFailure(bars, alphabet) : OK;
}

function alphabetFailure(bars: string, alphabet: Int8Array): number {
  const other = alphabet === DIGIT_STATE ? LETTER_STATE : DIGIT_STATE;
  let bar = 0;
  while (alphabet[bars.charCodeAt(bar)]! >= 0) bar++;
  const code = bars.charCodeAt(bar);
  return fail(other[code]! >= 0 ? BARS_MIXED_ALPHABET : BARS_ALPHABET, bar, code);
}

/** Reads a bar string that readBars accepted into `states`, for the repair search. */
function readStates(bars: string): void {
  const alphabet = alphabetOf(bars);
  for (let bar = 0; bar < BAR_COUNT; bar++) states[bar] = alphabet[bars.charCodeAt(bar)]!;
}

/** Decodes `characters` into the module's decoded numbers: codewords, data, FCS, fields. */
function decodeCharacters(): number {
  let carriedFcs = 0;
  for (let index = 0; index < 10; index++) {
    const entry = CHARACTER_TO_CODEWORD[characters[index]!]!;
    if (entry < 0) return fail(CHARACTER, index);
    codewords[index] = entry & 0x7ff;
    if (entry & INVERTED) carriedFcs |= 1 << index;
  }
  let codewordA = codewords[0]!;
  if (codewordA > 1317) return fail(CODEWORD_RANGE, 0, codewordA);
  if (codewordA >= 659) {
    codewordA -= 659;
    carriedFcs |= 0x400;
  }
  const codewordJ = codewords[9]!;
  if (codewordJ & 1 || codewordJ > 1270) return fail(CODEWORD_RANGE, 9, codewordJ);

  // Horner's rule, two codewords at a time; the first three fit a double (below 2^41).
  setLimbs((codewordA * 1365 + codewords[1]!) * BASE_1365_SQUARED + codewords[2]! * 1365 + codewords[3]!);
  multiplyAdd(BASE_1365_SQUARED, codewords[4]! * 1365 + codewords[5]!, 3); // below 2^62
  multiplyAdd(BASE_1365_SQUARED, codewords[6]! * 1365 + codewords[7]!, 4); // below 2^83
  multiplyAdd(BASE_636_1365, codewords[8]! * 636 + (codewordJ >> 1), 5); // below 659·636·1365^8 < 2^102

  const computedFcs = frameCheck();
  if (computedFcs !== carriedFcs) return fail(FRAME_CHECK, carriedFcs, computedFcs);

  group3 = divideRemainder(MILLION, INVERSE_MILLION, 4); // leaves less than 2^82.1
  group2 = divideRemainder(MILLION, INVERSE_MILLION, 3); // 2^62.2
  group1 = divideRemainder(MILLION, INVERSE_MILLION, 2); // 2^42.2
  let rest = limbs[1]! * LIMB + limbs[0]!; // below 2^42.2: the upper limbs are zero
  trackingDigit1 = rest % 5;
  rest = (rest - trackingDigit1) / 5;
  trackingDigit0 = rest % 10;
  rest = (rest - trackingDigit0) / 10;
  if (rest === 0) {
    routingLength = 0;
    routingValue = 0;
  } else if (rest <= 100_000) {
    routingLength = 5;
    routingValue = rest - 1;
  } else if (rest <= 1_000_100_000) {
    routingLength = 9;
    routingValue = rest - 100_001;
  } else if (rest <= 101_000_100_000) {
    routingLength = 11;
    routingValue = rest - 1_000_100_001;
  } else {
    return fail(VALUE_RANGE);
  }
  return OK;
}

let repairedBar = -1;

/**
 * After `status`, the failure of the bars as read: tries all 195 single-bar corrections and
 * keeps the result only if exactly one passes (`repairedBar` says which bar).
 */
function repair(bars: string, status: number): number {
  readStates(bars);
  const savedDetail1 = detail1;
  const savedDetail2 = detail2;
  let passing = 0;
  let candidateBar = -1;
  let candidateState = 0;
  for (let bar = 0; bar < BAR_COUNT; bar++) {
    const original = states[bar]!;
    for (let state = 0; state < 4; state++) {
      if (state === original) continue;
      states[bar] = state;
      statesToCharacters(states, characters);
      if (decodeCharacters() === OK) {
        passing++;
        candidateBar = bar;
        candidateState = state;
      }
    }
    states[bar] = original;
  }
  if (passing === 1) {
    states[candidateBar] = candidateState;
    statesToCharacters(states, characters);
    decodeCharacters();
    repairedBar = candidateBar;
    return OK;
  }
  repairCandidates = passing;
  return fail(status, savedDetail1, savedDetail2);
}

/** Decodes a bar string into the module's decoded numbers. */
export function decodeBars(bars: string, repairing: boolean): number {
  repairedBar = -1;
  repairCandidates = -1;
  const read = readBars(bars);
  if (read !== OK) return read;
  const status = decodeCharacters();
  return status === OK || !repairing ? status : repair(bars, status);
}

export function lastDecodeRepaired(): boolean {
  return repairedBar >= 0;
}

// ---------------------------------------------------------------------------------------------
// Digits out.

const THREE_DIGITS = Array.from({ length: 1000 }, (_, value) => String(value).padStart(3, "0"));
const TWO_DIGITS = THREE_DIGITS.slice(0, 100).map((digits) => digits.slice(1));
const ONE_DIGIT = TWO_DIGITS.slice(0, 10).map((digits) => digits[1]!);

function sixDigits(value: number): string {
  const high = Math.floor(value / 1000);
  return THREE_DIGITS[high]! + THREE_DIGITS[value - high * 1000]!;
}

function fiveDigits(value: number): string {
  const high = Math.floor(value / 1000);
  return TWO_DIGITS[high]! + THREE_DIGITS[value - high * 1000]!;
}

function fourDigits(value: number): string {
  const high = Math.floor(value / 1000);
  return ONE_DIGIT[high]! + THREE_DIGITS[value - high * 1000]!;
}

/** The tracking code of the last successful decode. */
export function decodedTracking(): string {
  return TWO_DIGITS[trackingDigit0 * 10 + trackingDigit1]! + sixDigits(group1) + sixDigits(group2) + sixDigits(group3);
}

/** The routing code of the last successful decode. */
export function decodedRouting(): string {
  if (routingLength === 0) return "";
  const high = Math.floor(routingValue / MILLION); // 5 digits of 11, 3 of 9, 0 of 5
  const low = sixDigits(routingValue - high * MILLION);
  if (routingLength === 5) return low.slice(1);
  if (routingLength === 9) return THREE_DIGITS[high]! + low;
  return fiveDigits(high) + low;
}

/**
 * The last successful decode with its fields, each built from the decoded numbers (the three
 * 6-digit groups of the tracking code, the routing value) rather than sliced from the strings.
 */
function decodedFields(repaired: boolean): ImbDecoded {
  // Tracking digits: 0-1 barcode id, 2-7 group1, 8-13 group2, 14-19 group3.
  const serviceTypeId = THREE_DIGITS[Math.floor(group1 / 1000)]!;
  const group1Low = group1 % 1000;
  const group2High = Math.floor(group2 / 1000);
  const group2Low = group2 - group2High * 1000;
  const longMailerId = group1Low >= 900; // digit 5 is 9: a 9-digit mailer id
  const mailerId = longMailerId
    ? THREE_DIGITS[group1Low]! + THREE_DIGITS[group2High]! + THREE_DIGITS[group2Low]!
    : THREE_DIGITS[group1Low]! + THREE_DIGITS[group2High]!;
  const serialNumber = longMailerId ? sixDigits(group3) : THREE_DIGITS[group2Low]! + sixDigits(group3);
  const barcodeId = TWO_DIGITS[trackingDigit0 * 10 + trackingDigit1]!;

  let zip = "";
  let plus4 = "";
  let deliveryPoint = "";
  if (routingLength === 5) {
    zip = fiveDigits(routingValue);
  } else if (routingLength === 9) {
    const zipValue = Math.floor(routingValue / 10_000);
    zip = fiveDigits(zipValue);
    plus4 = fourDigits(routingValue - zipValue * 10_000);
  } else if (routingLength === 11) {
    const zipValue = Math.floor(routingValue / MILLION);
    const rest = routingValue - zipValue * MILLION;
    const plus4Value = Math.floor(rest / 100);
    zip = fiveDigits(zipValue);
    plus4 = fourDigits(plus4Value);
    deliveryPoint = TWO_DIGITS[rest - plus4Value * 100]!;
  }
  return {
    tracking: barcodeId + serviceTypeId + mailerId + serialNumber,
    routing: zip + plus4 + deliveryPoint,
    barcodeId,
    serviceTypeId,
    mailerId,
    serialNumber,
    zip,
    plus4,
    deliveryPoint,
    repaired,
  };
}

/**
 * Decodes a 65-bar string (F/A/D/T in either case, or the 0-3 digit alphabet) into its
 * tracking and routing codes and their parts. Throws a typed ImbError for each way the bars
 * can be wrong; with `{ repair: true }` a string that fails its checks is corrected when
 * exactly one single-bar change makes it pass.
 */
export function decode(bars: string, options?: ImbDecodeOptions): ImbDecoded {
  const status = decodeBars(String(bars), options?.repair === true);
  if (status !== OK) throw statusError(status);
  return decodedFields(repairedBar >= 0);
}

/** Validates a tracking code and routing code without encoding them (the rules encode applies). */
export function checkTrackingRouting(tracking: string, routing: string): number {
  if (tracking.length !== 20) return fail(TRACKING_LENGTH, tracking.length);
  for (let index = 0; index < 20; index++) {
    const digit = tracking.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return fail(TRACKING_DIGIT, index, tracking.charCodeAt(index));
  }
  if (tracking.charCodeAt(1) > 52) return fail(BARCODE_ID, tracking.charCodeAt(1) - 48);
  const routingDigits = routing.length;
  if (routingDigits !== 0 && routingDigits !== 5 && routingDigits !== 9 && routingDigits !== 11) {
    return fail(ROUTING_LENGTH, routingDigits);
  }
  for (let index = 0; index < routingDigits; index++) {
    const digit = routing.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return fail(ROUTING_DIGIT, index, routing.charCodeAt(index));
  }
  return OK;
}
