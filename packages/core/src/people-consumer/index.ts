/**
 * The people consumer: after an import, the records its source feeds to golden records (which
 * sources feed people is read from the sources registry here, so people/ depends on neither the
 * sources nor the imports), then resolution. `People` in the core barrel is people/ plus this.
 */
export * from "../people/index";
export { resolvePending, PEOPLE_MAX_ATTEMPTS } from "./feeders";
