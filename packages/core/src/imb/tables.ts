/**
 * The fixed tables of the Intelligent Mail barcode (USPS-B-3200), built once at module load.
 *
 * Bar states are numbered so that bit 0 is the descender and bit 1 the ascender:
 * T (tracker) = 0, D (descender) = 1, A (ascender) = 2, F (full) = 3. That is also the
 * 0/1/2/3 digit alphabet some mailing systems print instead of T/D/A/F.
 */

import { codegenEnabled, compile } from "../codegen";

export const BAR_COUNT = 65;
export const CHARACTER_COUNT = 10;

/** Bar state (0..3) to its letter. */
export const STATE_LETTERS = "TDAF";

/**
 * The specification's bar-to-character mapping (USPS-B-3200, Table 22), bars 1 to 65 in order:
 * for each bar, the character (A..J) and bit (0..12) that give its descender, then its ascender.
 * No bar takes both of its bits from the same character, so any single-bar error changes the
 * number of set bits of at least one character and can never turn one valid barcode into another.
 */
const BAR_TO_CHARACTER =
  "H2 E3, B10 A0, J12 C8, F5 G11, I9 D1, A1 F12, C5 B8, E4 J11, G3 I10, D9 H6, " +
  "F11 B4, I5 C12, J10 A2, H1 G7, D6 E9, A3 I6, G4 C7, B1 J9, H10 F2, E0 D8, " +
  "G2 A4, I11 B0, J8 D12, C6 H7, F1 E10, B12 G9, H3 I0, F8 J7, E6 C10, D4 A5, " +
  "I4 F7, H11 B9, G0 J6, A6 E8, C1 D2, F9 I12, E11 G1, J5 H4, D3 B2, A7 C0, " +
  "B3 E1, G10 D5, I7 J4, C11 F6, A8 H12, E2 I1, F10 D0, J3 A9, G5 C4, H8 B7, " +
  "F0 E5, C3 A10, G12 J2, D11 B6, I8 H9, F4 A11, B5 C2, J1 E12, I3 G6, H0 D7, " +
  "E7 H5, A12 B11, C9 J0, G8 F3, D10 I2";

/** Per bar: the character index (0 = A .. 9 = J) and bit of its descender and of its ascender. */
export const DESCENDER_CHARACTER = new Uint8Array(BAR_COUNT);
export const DESCENDER_BIT = new Uint8Array(BAR_COUNT);
export const ASCENDER_CHARACTER = new Uint8Array(BAR_COUNT);
export const ASCENDER_BIT = new Uint8Array(BAR_COUNT);

{
  const bars = BAR_TO_CHARACTER.split(", ");
  if (bars.length !== BAR_COUNT) throw new Error("imb tables: bar mapping must list 65 bars");
  const seen = new Set<string>();
  bars.forEach((bar, index) => {
    const [descender, ascender] = bar.split(" ") as [string, string];
    for (const cell of [descender, ascender]) {
      if (seen.has(cell)) throw new Error(`imb tables: ${cell} is mapped twice`);
      seen.add(cell);
    }
    DESCENDER_CHARACTER[index] = descender.charCodeAt(0) - 65;
    DESCENDER_BIT[index] = Number(descender.slice(1));
    ASCENDER_CHARACTER[index] = ascender.charCodeAt(0) - 65;
    ASCENDER_BIT[index] = Number(ascender.slice(1));
  });
}

/**
 * The mapping above as straight-line functions, compiled once from the table: every bar's two
 * bits become constant shifts of local variables. A loop that looks the mapping up per bar
 * spends about three times as long (260 ns against 90 ns per barcode, measured), which was
 * a third of a whole decode.
 */
export interface BarMapping {
  barsToCharacters: (bars: string, stateOf: Int8Array, characters: Int32Array) => number;
  statesToCharacters: (states: Uint8Array, characters: Int32Array) => void;
  charactersToStates: (characters: Int32Array, states: Uint8Array) => void;
}

/** The same mapping as plain loops over the tables (LEADPIPE_CODEGEN=off; tests compare the two). */
function plainMapping(): BarMapping {
  const statesToCharacters = (states: Uint8Array, characters: Int32Array): void => {
    characters.fill(0);
    for (let bar = 0; bar < BAR_COUNT; bar++) {
      const s = states[bar]!;
      characters[DESCENDER_CHARACTER[bar]!] = characters[DESCENDER_CHARACTER[bar]!]! | ((s & 1) << DESCENDER_BIT[bar]!);
      characters[ASCENDER_CHARACTER[bar]!] = characters[ASCENDER_CHARACTER[bar]!]! | ((s >> 1) << ASCENDER_BIT[bar]!);
    }
  };
  return {
    barsToCharacters(bars, stateOf, characters) {
      characters.fill(0);
      let seen = 0;
      for (let bar = 0; bar < BAR_COUNT; bar++) {
        const s = stateOf[bars.charCodeAt(bar)]!;
        seen |= s;
        characters[DESCENDER_CHARACTER[bar]!] =
          characters[DESCENDER_CHARACTER[bar]!]! | ((s & 1) << DESCENDER_BIT[bar]!);
        characters[ASCENDER_CHARACTER[bar]!] = characters[ASCENDER_CHARACTER[bar]!]! | ((s >> 1) << ASCENDER_BIT[bar]!);
      }
      return seen;
    },
    statesToCharacters,
    charactersToStates(characters, states) {
      for (let bar = 0; bar < BAR_COUNT; bar++) {
        const descender = (characters[DESCENDER_CHARACTER[bar]!]! >> DESCENDER_BIT[bar]!) & 1;
        const ascender = (characters[ASCENDER_CHARACTER[bar]!]! >> ASCENDER_BIT[bar]!) & 1;
        states[bar] = descender | (ascender << 1);
      }
    },
  };
}

export function barMapping(generated = codegenEnabled()): BarMapping {
  return generated ? compileMapping() : plainMapping();
}

function compileMapping(): BarMapping {
  const locals = Array.from({ length: CHARACTER_COUNT }, (_, index) => `c${index}`);
  const declare = `let ${locals.map((name) => `${name} = 0`).join(", ")}, s = 0, seen = 0;`;
  const store = locals.map((name, index) => `characters[${index}] = ${name};`);
  const read: string[] = [declare];
  const gather: string[] = [declare];
  const scatter: string[] = [`const ${locals.map((name, index) => `${name} = characters[${index}]`).join(", ")};`];
  for (let bar = 0; bar < BAR_COUNT; bar++) {
    const descender = `c${DESCENDER_CHARACTER[bar]}`;
    const ascender = `c${ASCENDER_CHARACTER[bar]}`;
    const spread = `${descender} |= (s & 1) << ${DESCENDER_BIT[bar]}; ${ascender} |= (s >> 1) << ${ASCENDER_BIT[bar]};`;
    read.push(`s = stateOf[bars.charCodeAt(${bar})]; seen |= s; ${spread}`);
    gather.push(`s = states[${bar}]; ${spread}`);
    scatter.push(
      `states[${bar}] = ((${descender} >> ${DESCENDER_BIT[bar]}) & 1) | (((${ascender} >> ${ASCENDER_BIT[bar]}) & 1) << 1);`,
    );
  }
  read.push(...store, "return seen;");
  gather.push(...store);
  return {
    barsToCharacters: compile(
      [],
      `return function barsToCharacters(bars, stateOf, characters) {\n${read.join("\n")}\n};`,
    ),
    statesToCharacters: compile(
      [],
      `return function statesToCharacters(states, characters) {\n${gather.join("\n")}\n};`,
    ),
    charactersToStates: compile(
      [],
      `return function charactersToStates(characters, states) {\n${scatter.join("\n")}\n};`,
    ),
  };
}

/**
 * Bar states (0..3, one per bar) to the ten 13-bit characters they carry, and back; and a
 * 65-character bar string straight to the characters, through `stateOf` (a state or -1 for
 * every UTF-16 code unit), returning a negative number when any bar was -1.
 */
export const { barsToCharacters, statesToCharacters, charactersToStates } = barMapping();

function bitCount13(value: number): number {
  let count = 0;
  for (let bit = 0; bit < 13; bit++) count += (value >> bit) & 1;
  return count;
}

function reverse13(value: number): number {
  let reversed = 0;
  for (let bit = 0; bit < 13; bit++) reversed |= ((value >> bit) & 1) << (12 - bit);
  return reversed;
}

/**
 * The "N of 13" character table (USPS-B-3200 Appendix, Tables I and II): every 13-bit value
 * with N bits set, each non-palindromic value followed by its bit reversal from the front of
 * the table, the palindromes filled in from the back.
 */
function nOf13Table(n: number, length: number): Uint16Array {
  const table = new Uint16Array(length);
  let lower = 0;
  let upper = length - 1;
  for (let value = 0; value < 8192; value++) {
    if (bitCount13(value) !== n) continue;
    const reversed = reverse13(value);
    if (reversed < value) continue;
    if (reversed === value) {
      table[upper--] = value;
    } else {
      table[lower++] = value;
      table[lower++] = reversed;
    }
  }
  if (lower !== upper + 1) throw new Error(`imb tables: ${n}-of-13 table did not fill exactly`);
  return table;
}

/** Codewords 0..1286 use the 5-of-13 characters, 1287..1364 the 2-of-13 ones. */
export const CODEWORD_TO_CHARACTER = new Uint16Array(1365);
CODEWORD_TO_CHARACTER.set(nOf13Table(5, 1287), 0);
CODEWORD_TO_CHARACTER.set(nOf13Table(2, 78), 1287);

/** Set on a CHARACTER_TO_CODEWORD entry when the character appears bit-inverted (its FCS bit is 1). */
export const INVERTED = 0x800;

/**
 * 13-bit character to its codeword, with INVERTED set when the character is the bitwise
 * complement of the table entry; -1 for the 13-bit values that are in neither table.
 */
export const CHARACTER_TO_CODEWORD = new Int16Array(8192).fill(-1);
for (let codeword = 0; codeword < 1365; codeword++) {
  const character = CODEWORD_TO_CHARACTER[codeword]!;
  CHARACTER_TO_CODEWORD[character] = codeword;
  CHARACTER_TO_CODEWORD[character ^ 0x1fff] = codeword | INVERTED;
}

const CRC_POLYNOMIAL = 0xf35;

/** One step of the specification's bitwise CRC-11 (USPS-B-3200, frame check sequence). */
function crcSteps(fcs: number, data: number, bits: number): number {
  for (let bit = 0; bit < bits; bit++) {
    fcs = (fcs ^ data) & 0x400 ? ((fcs << 1) ^ CRC_POLYNOMIAL) & 0x7ff : (fcs << 1) & 0x7ff;
    data <<= 1;
  }
  return fcs;
}

/** CRC_BYTE[b]: the FCS contribution of one data byte, for the usual byte-at-a-time update. */
export const CRC_BYTE = new Uint16Array(256);
for (let byte = 0; byte < 256; byte++) CRC_BYTE[byte] = crcSteps(0, byte << 3, 8);

/**
 * The first of the 13 data bytes holds only 6 bits (102 = 6 + 12 * 8) and the FCS starts at
 * 0x7FF, so the state after it depends on those 6 bits alone.
 */
export const CRC_FIRST = new Uint16Array(64);
for (let value = 0; value < 64; value++) CRC_FIRST[value] = crcSteps(0x7ff, value << 5, 6);

/**
 * The FCS of 13 right-justified bytes, bit by bit exactly as the specification's reference
 * code does it. The codec uses the tables above; this is the yardstick for them in tests.
 */
export function referenceFrameCheck(bytes: ArrayLike<number>): number {
  let fcs = crcSteps(0x7ff, (bytes[0]! & 0x3f) << 5, 6);
  for (let index = 1; index < 13; index++) fcs = crcSteps(fcs, bytes[index]! << 3, 8);
  return fcs;
}
