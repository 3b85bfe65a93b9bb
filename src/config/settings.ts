/**
 * The settings of kv-acme: one typed, validated object, read once from an environment record and passed in.
 * Split by job: ./types.ts (the Settings type), ./descriptor.ts (what a setting is; sections modules declare),
 * ./parsers.ts (value parsers), ./descriptors.ts (the core descriptor tables, each default written once),
 * ./load.ts (loadSettings), ./doc.ts (docs/settings.md). Import from here.
 */
export * from "./types";
export * from "./descriptor";
export * from "./parsers";
export * from "./descriptors";
export * from "./load";
export * from "./doc";
