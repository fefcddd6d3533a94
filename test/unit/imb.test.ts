import { readFileSync } from "node:fs";
import { parse as parseCsv } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { Imb } from "@leadpipe/core";
import {
  CHARACTER_TO_CODEWORD,
  CODEWORD_TO_CHARACTER,
  CRC_BYTE,
  CRC_FIRST,
  STATE_LETTERS,
  charactersToStates,
  referenceFrameCheck,
  statesToCharacters,
} from "../../packages/core/src/imb/tables.ts";

const examples = parseCsv(readFileSync(new URL("../../fixtures/imb-spec-examples.csv", import.meta.url)), {
  columns: true,
}) as { tracking: string; routing: string; bars: string }[];

const SPEC_TRACKING = "01234567094987654321";
const SPEC_BARS_11 = examples[3]!.bars;

/**
 * An independent, deliberately naive encoder from codewords (BigInt, bit-by-bit CRC) for
 * building barcodes the codec must reject: it writes whatever codewords it is given, with the
 * frame check sequence those codewords' data really has unless told otherwise.
 */
function barsFromCodewords(codewords: number[], written: { fcs?: number; j?: number } = {}): string {
  let value = BigInt(codewords[0]!);
  for (let index = 1; index < 9; index++) value = value * 1365n + BigInt(codewords[index]!);
  value = value * 636n + BigInt(codewords[9]!);
  const bytes = Array.from({ length: 13 }, (_, index) => Number((value >> BigInt(8 * (12 - index))) & 0xffn));
  const fcs = written.fcs ?? referenceFrameCheck(bytes);
  const writtenCodewords = [...codewords];
  writtenCodewords[9] = written.j ?? codewords[9]! * 2;
  if (fcs & 0x400) writtenCodewords[0] = writtenCodewords[0]! + 659;
  const characters = new Int32Array(10);
  writtenCodewords.forEach((codeword, index) => {
    const character = CODEWORD_TO_CHARACTER[codeword]!;
    characters[index] = (fcs >> index) & 1 ? character ^ 0x1fff : character;
  });
  const states = new Uint8Array(65);
  charactersToStates(characters, states);
  return Array.from(states, (state) => STATE_LETTERS[state]).join("");
}

/** The bar string with bar `index` (0-based) set to `letter`. */
function withBar(bars: string, index: number, letter: string): string {
  return bars.slice(0, index) + letter + bars.slice(index + 1);
}

function thrown(action: () => unknown): Imb.Error {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(Imb.Error);
    return error as Imb.Error;
  }
  throw new Error("expected an ImbError");
}

describe("the specification's four examples (fixtures/imb-spec-examples.csv)", () => {
  it("has the four examples", () => {
    expect(examples.map((example) => example.routing.length)).toEqual([0, 5, 9, 11]);
  });

  it.each(examples)("encodes tracking $tracking routing '$routing' byte for byte", ({ tracking, routing, bars }) => {
    expect(Imb.encode(tracking, routing)).toBe(bars);
  });

  it.each(examples)("decodes the bars for routing '$routing' byte for byte", ({ tracking, routing, bars }) => {
    const decoded = Imb.decode(bars);
    expect(decoded.tracking).toBe(tracking);
    expect(decoded.routing).toBe(routing);
    expect(decoded.repaired).toBe(false);
  });

  it("reproduces the examples from the naive BigInt encoder in this file too", () => {
    // Codewords of the 11-digit example, from the specification's worked example.
    expect(barsFromCodewords([14, 787, 607, 1022, 861, 19, 816, 1294, 35, 301])).toBe(SPEC_BARS_11);
  });

  it("splits the decoded codes into their fields", () => {
    expect(Imb.decode(SPEC_BARS_11)).toEqual({
      tracking: SPEC_TRACKING,
      routing: "01234567891",
      barcodeId: "01",
      serviceTypeId: "234",
      mailerId: "567094",
      serialNumber: "987654321",
      zip: "01234",
      plus4: "5678",
      deliveryPoint: "91",
      repaired: false,
    });
    expect(Imb.decode(examples[0]!.bars)).toMatchObject({ routing: "", zip: "", plus4: "", deliveryPoint: "" });
    expect(Imb.decode(examples[2]!.bars)).toMatchObject({ zip: "01234", plus4: "5678", deliveryPoint: "" });
  });

  it("reads a 9-digit mailer id when the mailer id starts with 9", () => {
    const tracking = "00270912345678123456";
    expect(Imb.decode(Imb.encode(tracking, ""))).toMatchObject({ mailerId: "912345678", serialNumber: "123456" });
  });
});

describe("the tables", () => {
  it("gives every codeword a distinct character, and 5-of-13 / 2-of-13 ones where the specification says", () => {
    const popcount = (value: number) => value.toString(2).replace(/0/g, "").length;
    expect(new Set(CODEWORD_TO_CHARACTER).size).toBe(1365);
    for (let codeword = 0; codeword < 1365; codeword++) {
      const character = CODEWORD_TO_CHARACTER[codeword]!;
      expect(popcount(character)).toBe(codeword < 1287 ? 5 : 2);
      expect(CHARACTER_TO_CODEWORD[character]).toBe(codeword);
    }
    // First entries of the specification's Table I and Table II.
    expect(Array.from(CODEWORD_TO_CHARACTER.slice(0, 4))).toEqual([0x1f, 0x1f00, 0x2f, 0x1e80]);
    expect(Array.from(CODEWORD_TO_CHARACTER.slice(1287, 1291))).toEqual([0x3, 0x1800, 0x5, 0x1400]);
  });

  it("computes the byte-wise CRC exactly as the bitwise reference does", () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let trial = 0; trial < 2000; trial++) {
      const bytes = Array.from({ length: 13 }, (_, index) => (index === 0 ? next() & 0x3f : next() & 0xff));
      let fcs = CRC_FIRST[bytes[0]!]!;
      for (let index = 1; index < 13; index++)
        fcs = ((fcs << 8) & 0x7ff) ^ CRC_BYTE[((fcs >> 3) ^ bytes[index]!) & 0xff]!;
      expect(fcs).toBe(referenceFrameCheck(bytes));
    }
  });

  it("maps bars to characters and back without loss", () => {
    const states = Uint8Array.from(SPEC_BARS_11, (letter) => STATE_LETTERS.indexOf(letter));
    const characters = new Int32Array(10);
    statesToCharacters(states, characters);
    const back = new Uint8Array(65);
    charactersToStates(characters, back);
    expect(Array.from(back)).toEqual(Array.from(states));
  });
});

describe("Imb.encode rejects what the specification does not allow", () => {
  it.each([
    ["19 tracking digits", "0123456709498765432", "", "IMB_LENGTH", "imb: tracking code has 19 digits, expected 20"],
    ["21 tracking digits", "012345670949876543210", "", "IMB_LENGTH", "imb: tracking code has 21 digits, expected 20"],
    [
      "a letter in the tracking code",
      "0123456709498765432x",
      "",
      "IMB_ALPHABET",
      'imb: tracking code has "x" at position 20, expected a digit',
    ],
    [
      "a space in the tracking code",
      "01234 67094987654321",
      "",
      "IMB_ALPHABET",
      'imb: tracking code has " " at position 6, expected a digit',
    ],
    [
      "second barcode-id digit 5",
      "05234567094987654321",
      "",
      "IMB_BARCODE_ID",
      "imb: second digit of the barcode identifier is 5, expected 0-4",
    ],
    [
      "second barcode-id digit 9",
      "09234567094987654321",
      "",
      "IMB_BARCODE_ID",
      "imb: second digit of the barcode identifier is 9, expected 0-4",
    ],
    ["4 routing digits", SPEC_TRACKING, "0123", "IMB_LENGTH", "imb: routing code has 4 digits, expected 0, 5, 9 or 11"],
    [
      "6 routing digits",
      SPEC_TRACKING,
      "012345",
      "IMB_LENGTH",
      "imb: routing code has 6 digits, expected 0, 5, 9 or 11",
    ],
    [
      "10 routing digits",
      SPEC_TRACKING,
      "0123456789",
      "IMB_LENGTH",
      "imb: routing code has 10 digits, expected 0, 5, 9 or 11",
    ],
    [
      "12 routing digits",
      SPEC_TRACKING,
      "012345678912",
      "IMB_LENGTH",
      "imb: routing code has 12 digits, expected 0, 5, 9 or 11",
    ],
    [
      "a dash in the routing code",
      SPEC_TRACKING,
      "01234-678",
      "IMB_ALPHABET",
      'imb: routing code has "-" at position 6, expected a digit',
    ],
  ])("%s", (_, tracking, routing, code, message) => {
    const error = thrown(() => Imb.encode(tracking, routing));
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it("names each error class after what went wrong", () => {
    expect(thrown(() => Imb.encode("1", "")).name).toBe("ImbLengthError");
    expect(thrown(() => Imb.encode("0123456709498765432x", ""))).toBeInstanceOf(Imb.AlphabetError);
    expect(thrown(() => Imb.encode("07234567094987654321", ""))).toBeInstanceOf(Imb.BarcodeIdError);
  });

  it("accepts the largest tracking and routing codes", () => {
    const bars = Imb.encode("94999999999999999999", "99999999999");
    expect(Imb.decode(bars)).toMatchObject({ tracking: "94999999999999999999", routing: "99999999999" });
    expect(Imb.decode(Imb.encode("00000000000000000000", "00000000000"))).toMatchObject({ routing: "00000000000" });
    expect(Imb.decode(Imb.encode("00000000000000000000", ""))).toMatchObject({
      tracking: "00000000000000000000",
      routing: "",
    });
  });
});

describe("Imb.decode rejects each way bars can be wrong", () => {
  it.each([
    ["64 bars", SPEC_BARS_11.slice(1), "IMB_LENGTH", "imb: bar string has 64 bars, expected 65"],
    ["66 bars", SPEC_BARS_11 + "T", "IMB_LENGTH", "imb: bar string has 66 bars, expected 65"],
    ["no bars", "", "IMB_LENGTH", "imb: bar string has 0 bars, expected 65"],
    [
      "a letter outside F/A/D/T",
      withBar(SPEC_BARS_11, 10, "X"),
      "IMB_ALPHABET",
      'imb: bar 11 is "X", expected one of F, A, D, T (or 3, 2, 1, 0)',
    ],
    [
      "a digit among letters",
      withBar(SPEC_BARS_11, 3, "1"),
      "IMB_ALPHABET",
      'imb: bar 4 is "1", the bar string mixes the letter and digit alphabets',
    ],
    [
      "a non-ASCII character",
      withBar(SPEC_BARS_11, 64, "Ä"),
      "IMB_ALPHABET",
      'imb: bar 65 is "Ä", expected one of F, A, D, T (or 3, 2, 1, 0)',
    ],
    [
      "a digit 4 among 0-3",
      "4" + "0".repeat(64),
      "IMB_ALPHABET",
      'imb: bar 1 is "4", expected one of F, A, D, T (or 3, 2, 1, 0)',
    ],
  ])("%s", (_, bars, code, message) => {
    const error = thrown(() => Imb.decode(bars));
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it("a character in neither table", () => {
    // Bar 1 carries bit 2 of character H (descender) and bit 3 of E (ascender): A -> T drops
    // one bit of E, whose bit count is then neither 2, 5, 8 nor 11.
    expect(SPEC_BARS_11[0]).toBe("A");
    const error = thrown(() => Imb.decode(withBar(SPEC_BARS_11, 0, "T")));
    expect(error).toBeInstanceOf(Imb.CharacterError);
    expect(error.code).toBe("IMB_CHARACTER");
    expect(error.message).toBe("imb: character E is in neither character table");
  });

  it("codeword J odd (its low bit is the orientation, always 0), or above 2 x 635", () => {
    const odd = thrown(() => Imb.decode(barsFromCodewords([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { j: 21 })));
    expect(odd).toBeInstanceOf(Imb.CodewordRangeError);
    expect(odd.code).toBe("IMB_CODEWORD_RANGE");
    expect(odd.message).toBe("imb: codeword J is 21, out of range");
    const tooLarge = thrown(() => Imb.decode(barsFromCodewords([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { j: 1272 })));
    expect(tooLarge.message).toBe("imb: codeword J is 1272, out of range");
  });

  it("codeword A above 1317", () => {
    // A + 659 (the FCS's eleventh bit) is at most 1317; 1320 can only be a corrupted A.
    const bars = barsFromCodewords([661, 2, 3, 4, 5, 6, 7, 8, 9, 10], { fcs: 0x400 });
    const error = thrown(() => Imb.decode(bars));
    expect(error.code).toBe("IMB_CODEWORD_RANGE");
    expect(error.message).toBe("imb: codeword A is 1320, out of range");
  });

  it("codewords whose value is beyond the largest routing code", () => {
    const error = thrown(() =>
      Imb.decode(barsFromCodewords([658, 1364, 1364, 1364, 1364, 1364, 1364, 1364, 1364, 635])),
    );
    expect(error).toBeInstanceOf(Imb.CodewordRangeError);
    expect(error.message).toBe("imb: codewords decode to a routing value out of range");
  });

  it("a frame check mismatch", () => {
    const error = thrown(() => Imb.decode(barsFromCodewords([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { fcs: 0x123 })));
    expect(error).toBeInstanceOf(Imb.FrameCheckError);
    expect(error.code).toBe("IMB_FRAME_CHECK");
    expect(error.message).toMatch(/^imb: frame check mismatch \(bars carry 0x123, data gives 0x[0-9A-F]{3}\)$/);
  });
});

describe("Imb.parse: every encoding partners send", () => {
  const canonical = { tracking: SPEC_TRACKING, routing: "01234567891", repaired: false };
  const digitBars = Array.from(SPEC_BARS_11, (letter) => "TDAF".indexOf(letter)).join("");

  it.each([
    ["the bar string", SPEC_BARS_11, "bars"],
    ["the bar string in lower case with whitespace around it", `\t ${SPEC_BARS_11.toLowerCase()} \r\n`, "bars"],
    ["the bar string in mixed case", SPEC_BARS_11.slice(0, 30) + SPEC_BARS_11.slice(30).toLowerCase(), "bars"],
    ["the 0/1/2/3 digit alphabet (T/D/A/F)", digitBars, "bars"],
    ["31 digits", "0123456709498765432101234567891", "numeric"],
    ["31 digits with spaces", "01 234 567094 987654321 01234 5678 91", "numeric"],
    ["31 digits with dashes", "01-234-567094-987654321-01234-5678-91", "numeric"],
    ["31 digits with whitespace around them", "  0123456709498765432101234567891\n", "numeric"],
  ] as const)("%s", (_, input, encoding) => {
    expect(Imb.parse(input)).toEqual({ ...canonical, encoding });
  });

  it.each([
    ["20", "01234567094987654321", ""],
    ["25", "0123456709498765432101234", "01234"],
    ["29", "01234567094987654321012345678", "012345678"],
  ])("numeric strings of %s digits", (_, input, routing) => {
    expect(Imb.parse(input)).toEqual({ tracking: SPEC_TRACKING, routing, repaired: false, encoding: "numeric" });
  });

  it("component fields, with 6- and 9-digit mailer ids", () => {
    const fields = {
      barcodeId: "01",
      serviceTypeId: "234",
      mailerId: "567094",
      serialNumber: "987654321",
      routing: "01234567891",
    };
    expect(Imb.parse(fields)).toEqual({ ...canonical, encoding: "fields" });
    expect(Imb.parse({ ...fields, routing: undefined })).toEqual({ ...canonical, routing: "", encoding: "fields" });
    expect(Imb.parse({ barcodeId: "00", serviceTypeId: "270", mailerId: "912345678", serialNumber: "123456" })).toEqual(
      {
        tracking: "00270912345678123456",
        routing: "",
        repaired: false,
        encoding: "fields",
      },
    );
  });

  it.each([
    ["an empty string", "   ", "IMB_FORMAT", "imb: empty barcode"],
    ["punctuation", "#0123", "IMB_FORMAT", 'imb: "#0123" is neither a bar string nor a numeric barcode'],
    [
      "a numeric string of 24 digits",
      "012345670949876543210123",
      "IMB_LENGTH",
      "imb: numeric barcode has 24 digits, expected 20, 25, 29 or 31",
    ],
    [
      "a numeric string of 19 digits",
      "0123456709498765432",
      "IMB_LENGTH",
      "imb: numeric barcode has 19 digits, expected 20, 25, 29 or 31",
    ],
    [
      "a numeric string with a letter",
      "0123456709498765432X",
      "IMB_ALPHABET",
      'imb: numeric barcode has "X" at position 20, expected digits, spaces or dashes',
    ],
    [
      "a numeric string with second digit 5",
      "05234567094987654321",
      "IMB_BARCODE_ID",
      "imb: second digit of the barcode identifier is 5, expected 0-4",
    ],
    [
      "a numeric string with second digit 9",
      "0923456709498765432101234",
      "IMB_BARCODE_ID",
      "imb: second digit of the barcode identifier is 9, expected 0-4",
    ],
    ["64 bars", SPEC_BARS_11.slice(0, 64), "IMB_LENGTH", "imb: bar string has 64 bars, expected 65"],
    ["66 bars", SPEC_BARS_11 + "A", "IMB_LENGTH", "imb: bar string has 66 bars, expected 65"],
    ["64 digit bars", digitBars.slice(1), "IMB_LENGTH", "imb: bar string has 64 bars, expected 65"],
    ["66 digit bars", digitBars + "0", "IMB_LENGTH", "imb: bar string has 66 bars, expected 65"],
    [
      "65 bars with a letter outside FADT",
      withBar(SPEC_BARS_11, 5, "B"),
      "IMB_ALPHABET",
      'imb: bar 6 is "B", expected one of F, A, D, T (or 3, 2, 1, 0)',
    ],
    [
      "65 digit bars with a 5",
      withBar(digitBars, 7, "5"),
      "IMB_ALPHABET",
      'imb: bar 8 is "5", expected one of F, A, D, T (or 3, 2, 1, 0)',
    ],
    [
      "bars with a space inside",
      withBar(SPEC_BARS_11, 20, " "),
      "IMB_ALPHABET",
      'imb: bar 21 is " ", expected one of F, A, D, T (or 3, 2, 1, 0)',
    ],
  ])("rejects %s", (_, input, code, message) => {
    const error = thrown(() => Imb.parse(input));
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
    expect(Imb.tryParse(input)).toEqual({ ok: false, error: message, code });
  });

  const fields = {
    barcodeId: "01",
    serviceTypeId: "234",
    mailerId: "567094",
    serialNumber: "987654321",
    routing: "01234567891",
  };
  it.each([
    [
      "second barcode-id digit 5",
      { ...fields, barcodeId: "05" },
      "IMB_BARCODE_ID",
      "imb: second digit of the barcode identifier is 5, expected 0-4",
    ],
    ["a missing field", { ...fields, serviceTypeId: undefined }, "IMB_FORMAT", "imb: field serviceTypeId is missing"],
    [
      "a number for a field",
      { ...fields, mailerId: 567094 },
      "IMB_FORMAT",
      "imb: field mailerId must be a string of digits, got number 567094",
    ],
    [
      "a 3-digit barcode id",
      { ...fields, barcodeId: "012" },
      "IMB_LENGTH",
      "imb: field barcodeId has 3 digits, expected 2",
    ],
    [
      "a 6-digit mailer id starting with 9",
      { ...fields, mailerId: "967094" },
      "IMB_LENGTH",
      "imb: field mailerId 967094 starts with 9, so it must have 9 digits",
    ],
    [
      "a 9-digit mailer id not starting with 9",
      { ...fields, mailerId: "567094987", serialNumber: "654321" },
      "IMB_LENGTH",
      "imb: field mailerId 567094987 has 9 digits, so it must start with 9",
    ],
    [
      "a serial number of the wrong length",
      { ...fields, serialNumber: "98765432" },
      "IMB_LENGTH",
      "imb: field serialNumber has 8 digits, expected 9",
    ],
    [
      "a 10-digit routing code",
      { ...fields, routing: "0123456789" },
      "IMB_LENGTH",
      "imb: field routing has 10 digits, expected 0, 5, 9 or 11",
    ],
    [
      "a letter in a field",
      { ...fields, serviceTypeId: "2x4" },
      "IMB_ALPHABET",
      'imb: field serviceTypeId has "x" at position 2, expected a digit',
    ],
  ])("rejects fields with %s", (_, input, code, message) => {
    const error = thrown(() => Imb.parse(input as unknown as Imb.Fields));
    expect(error.code).toBe(code);
    expect(error.message).toBe(message);
  });

  it("rejects inputs that are not strings or objects, without throwing from tryParse", () => {
    // biome-ignore lint/correctness/noPrecisionLoss: a number too long for a tracking code, as a caller might pass one.
    for (const input of [null, undefined, 12345678901234567890, true]) {
      const result = Imb.tryParse(input);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error).toMatch(
        /^imb: expected a bar string, a numeric string or a fields object, got /,
      );
    }
  });

  it("repairs a single wrong bar by default and says so; refuses when told not to", () => {
    const corrupted = withBar(SPEC_BARS_11, 0, "T");
    expect(Imb.parse(corrupted)).toEqual({ ...canonical, repaired: true, encoding: "bars" });
    expect(Imb.tryParse(corrupted, { repair: false })).toEqual({
      ok: false,
      error: "imb: character E is in neither character table",
      code: "IMB_CHARACTER",
    });
  });

  it("names the repair ambiguity when more than one correction passes", () => {
    // Two wrong bars: no single correction restores the original, and the reason says so.
    const twice = withBar(withBar(SPEC_BARS_11, 0, "T"), 40, SPEC_BARS_11[40] === "F" ? "T" : "F");
    const result = Imb.tryParse(twice);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(
      /^imb: .*(no single-bar repair passes|single-bar repairs pass, ambiguous)$/,
    );
  });
});
