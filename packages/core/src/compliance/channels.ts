/** The contact channels, and the words feeds use for them. */
export const CHANNELS = ["mail", "call", "email", "sms"] as const;
export type Channel = (typeof CHANNELS)[number];

const CHANNEL_OF: Record<string, Channel> = {
  EMAIL: "email",
  "E-MAIL": "email",
  SMS: "sms",
  TEXT: "sms",
  CALL: "call",
  PHONE: "call",
  MAIL: "mail",
};

/** The words feeds write for a channel (upper-case): email/e-mail, sms/text, call/phone, mail. */
export const CHANNEL_WORDS: readonly string[] = Object.keys(CHANNEL_OF);

/** The channel a validated channel word names. */
export function channelOf(word: string | null): Channel | null {
  return word === null ? null : (CHANNEL_OF[word] ?? null);
}
