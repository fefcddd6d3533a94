export * from "./config";
export * from "./runs";
export * from "./http";
export * from "./sync";
export * from "./registry";
export * as Pipedrive from "./pipedrive/index";
