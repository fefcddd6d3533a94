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

/** The common base: `instanceof ImbError` catches them all; `code` says which. */
export class ImbError extends Error {
  declare readonly code: ImbErrorCode;
}

/** The input is not a bar string, a numeric string or a fields object. */
export class ImbFormatError extends ImbError {
  override readonly name = "ImbFormatError";
  override readonly code = "IMB_FORMAT";
}

/** Wrong number of bars, tracking digits, routing digits or field digits. */
export class ImbLengthError extends ImbError {
  override readonly name = "ImbLengthError";
  override readonly code = "IMB_LENGTH";
}

/** A bar outside F/A/D/T (or 0-3), or a non-digit where digits are required. */
export class ImbAlphabetError extends ImbError {
  override readonly name = "ImbAlphabetError";
  override readonly code = "IMB_ALPHABET";
}

/** The second digit of the barcode identifier is above 4. */
export class ImbBarcodeIdError extends ImbError {
  override readonly name = "ImbBarcodeIdError";
  override readonly code = "IMB_BARCODE_ID";
}

/** Thirteen bars read as a character that is in neither character table. */
export class ImbCharacterError extends ImbError {
  override readonly name = "ImbCharacterError";
  override readonly code = "IMB_CHARACTER";
}

/** A codeword, or the value they make, is outside what an encoder can produce. */
export class ImbCodewordRangeError extends ImbError {
  override readonly name = "ImbCodewordRangeError";
  override readonly code = "IMB_CODEWORD_RANGE";
}

/** The frame check sequence carried by the bars does not match the data. */
export class ImbFrameCheckError extends ImbError {
  override readonly name = "ImbFrameCheckError";
  override readonly code = "IMB_FRAME_CHECK";
}

/** The error class for each code. */
export const IMB_ERRORS: Record<ImbErrorCode, new (message: string) => ImbError> = {
  IMB_FORMAT: ImbFormatError,
  IMB_LENGTH: ImbLengthError,
  IMB_ALPHABET: ImbAlphabetError,
  IMB_BARCODE_ID: ImbBarcodeIdError,
  IMB_CHARACTER: ImbCharacterError,
  IMB_CODEWORD_RANGE: ImbCodewordRangeError,
  IMB_FRAME_CHECK: ImbFrameCheckError,
};
