// Lambda entry point; being written in the walking-skeleton change.
export const handler = async (): Promise<never> => {
  throw new Error("functions/refresh-views.ts is not wired yet");
};
