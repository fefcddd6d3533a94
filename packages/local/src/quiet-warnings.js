// The AWS SDK warns on every client in every worker that Node 20 support ends in 2027; the
// README says so once. Every other warning still prints.
const emit = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const type = typeof rest[0] === "string" ? rest[0] : rest[0]?.type;
  if (type === "NodeVersionSupportWarning" || String(warning?.name ?? warning).includes("NodeVersionSupportWarning"))
    return;
  return emit.call(process, warning, ...rest);
};
