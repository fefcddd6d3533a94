// Lambda entry point; being written in the walking-skeleton change.
export const handler = async (): Promise<never> => {
  throw new Error("functions/migrate.ts is not wired yet");
};
