/**
 * Every way an Intelligent Mail barcode can be wrong. These are row errors: the pipeline
 * rejects the row with the message (which always starts with "imb: ") and goes on.
 */

export type ImbErrorCode =
  | "IMB_FORMAT"
  | "IMB_LENGTH"
  | "IMB_ALPHABET"
  | "IMB_BARCODE_ID"
  | "IMB_CHARACTER"
  | "IMB_CODEWORD_RANGE"
  | "IMB_FRAME_CHECK";

export class ImbError extends Error {
  override readonly name: string = "ImbError";
  constructor(
    readonly code: ImbErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The input is not a bar string, a numeric string or a fields object. */
export class ImbFormatError extends ImbError {
  override readonly name = "ImbFormatError";
  constructor(message: string) {
    super("IMB_FORMAT", message);
  }
}

/** Wrong number of bars, tracking digits, routing digits or field digits. */
export class ImbLengthError extends ImbError {
  override readonly name = "ImbLengthError";
  constructor(message: string) {
    super("IMB_LENGTH", message);
  }
}

/** A bar outside F/A/D/T (or 0-3), or a non-digit where digits are required. */
export class ImbAlphabetError extends ImbError {
  override readonly name = "ImbAlphabetError";
  constructor(message: string) {
    super("IMB_ALPHABET", message);
  }
}

/** The second digit of the barcode identifier is above 4. */
export class ImbBarcodeIdError extends ImbError {
  override readonly name = "ImbBarcodeIdError";
  constructor(message: string) {
    super("IMB_BARCODE_ID", message);
  }
}

/** Thirteen bars read as a character that is in neither character table. */
export class ImbCharacterError extends ImbError {
  override readonly name = "ImbCharacterError";
  constructor(message: string) {
    super("IMB_CHARACTER", message);
  }
}

/** A codeword, or the value they make, is outside what an encoder can produce. */
export class ImbCodewordRangeError extends ImbError {
  override readonly name = "ImbCodewordRangeError";
  constructor(message: string) {
    super("IMB_CODEWORD_RANGE", message);
  }
}

/** The frame check sequence carried by the bars does not match the data. */
export class ImbFrameCheckError extends ImbError {
  override readonly name = "ImbFrameCheckError";
  constructor(message: string) {
    super("IMB_FRAME_CHECK", message);
  }
}
