export * from "./config";
export * from "./runs";
export * from "./http";
export * from "./sync";
export * from "./registry";
export * as RingCentral from "./ringcentral/index";
export * as Pipedrive from "./pipedrive/index";
