export { createApp, startConsole, type RunningConsole, type ServeOptions, type ServedHook } from "./server";
export { routes, PUBLIC_PATHS, type Route } from "./routes";
export { ROLES, isRole, type Role } from "./auth/roles";
export { addUser, disableUser, listUsers, audit, UserInputError, type User } from "./auth/store";
export { PasswordPolicyError, hashPassword, verifyPassword } from "./auth/passwords";
export type { ConsoleDeps, ConsoleOptions } from "./ports";
export { roleFromGroups, ROLE_PRECEDENCE, type IdentityProvider, type IdentityLogin } from "./auth/identity";
export { cognitoIdentity, type CognitoSettings } from "./adapters/cognito";
