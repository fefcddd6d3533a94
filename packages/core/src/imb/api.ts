/** The members of the Imb namespace: `Imb.encode`, `Imb.decode`, `Imb.parse`, `Imb.tryParse`. */
export { encode, decode, type ImbDecoded as Decoded, type ImbDecodeOptions as DecodeOptions } from "./codec.ts";
export {
  parse,
  tryParse,
  type ImbCanonical as Canonical,
  type ImbEncoding as Encoding,
  type ImbFields as Fields,
  type ImbInput as Input,
  type ImbParseOptions as ParseOptions,
  type ImbParseResult as ParseResult,
} from "./parse.ts";
export {
  ImbError as Error,
  ImbFormatError as FormatError,
  ImbLengthError as LengthError,
  ImbAlphabetError as AlphabetError,
  ImbBarcodeIdError as BarcodeIdError,
  ImbCharacterError as CharacterError,
  ImbCodewordRangeError as CodewordRangeError,
  ImbFrameCheckError as FrameCheckError,
  type ImbErrorCode as ErrorCode,
} from "./errors.ts";
