// Lambda entry point; being written in the walking-skeleton change.
export const handler = async (): Promise<never> => {
  throw new Error("functions/checksum.ts is not wired yet");
};
