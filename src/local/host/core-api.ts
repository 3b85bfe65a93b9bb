/**
 * The virtual module `@azure/functions-core` that the real Node worker injects. @azure/functions v4 and
 * durable-functions end every registration in `registerFunction(metadata, handler)` on it; providing it here
 * (by hooking Node's CommonJS loader) lets the local host capture the exact registrations and handlers.
 */
import Module from "node:module";

/** Binding metadata as @azure/functions builds it (RpcBindingInfo plus trigger options such as route). */
export interface BindingInfo {
  type: string;
  direction?: "in" | "out" | "inout";
  name?: string;
  [option: string]: unknown;
}

/** What `registerFunction` receives: name, bindings by name, retry options. */
export interface FunctionMetadata {
  name: string;
  bindings: Record<string, BindingInfo>;
  retryOptions?: unknown;
}

/** The handler exactly as the worker would call it: `(...inputs, context)`. */
export type FunctionCallback = (...args: unknown[]) => unknown;

/** One captured registration. */
export interface RegisteredFunction {
  name: string;
  metadata: FunctionMetadata;
  handler: FunctionCallback;
  /** The trigger binding (the one whose type ends with "Trigger"). */
  trigger: BindingInfo;
  /** Name of the trigger binding inside `metadata.bindings`. */
  triggerName: string;
}

/** The programming model the library hands the worker (`ProgrammingModel` in @azure/functions). */
export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: unknown): InvocationModel;
  getCapabilities?(caps: Record<string, string>): Promise<Record<string, string>>;
}

/** Per-invocation converter the library provides. */
export interface InvocationModel {
  getArguments(): Promise<{ context: InvocationContextLike; inputs: unknown[] }>;
  invokeFunction(context: InvocationContextLike, inputs: unknown[], handler: FunctionCallback): Promise<unknown>;
  getResponse(context: InvocationContextLike, result: unknown): Promise<{ returnValue?: unknown; outputData?: unknown[] }>;
}

/** The parts of @azure/functions' InvocationContext the host touches. */
export interface InvocationContextLike {
  invocationId: string;
  functionName: string;
  [key: string]: unknown;
}

/** A hook callback registered through `app.hook.*`. */
export type HookCallback = (context: Record<string, unknown>) => unknown;

/** Where registrations go; one registry per host start. */
export class FunctionRegistry {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks: Record<string, HookCallback[]> = {};
  /** App-level hook data shared across hooks, as in the worker. */
  readonly appHookData: Record<string, unknown> = {};
  /** Lines the library logged through `coreApi.log` (system and user), newest last, capped. */
  readonly logs: { level: string; category: string; message: string }[] = [];
  /** host.json functionTimeout (undefined = no limit), enforced on every invocation. */
  functionTimeoutMs: number | undefined;

  /** Adds a registration; duplicate names are refused like the worker does. */
  register(metadata: FunctionMetadata, handler: FunctionCallback): void {
    if (this.functions.has(metadata.name)) {
      throw new Error(`A function named "${metadata.name}" is already registered.`);
    }
    const entry = Object.entries(metadata.bindings).find(([, b]) => /trigger$/i.test(b.type));
    if (!entry) throw new Error(`Function "${metadata.name}" has no trigger binding.`);
    if (entry[1].type.toLowerCase() === "entitytrigger")
      throw new Error(
        `Function "${metadata.name}" is a durable entity: the local host does not run durable entities, so it refuses them at registration instead of failing later on Azure-only behaviour.`,
      );
    this.functions.set(metadata.name, { name: metadata.name, metadata, handler, trigger: entry[1], triggerName: entry[0] });
  }

  /** Functions whose trigger type matches (case-insensitive). */
  byTrigger(type: string): RegisteredFunction[] {
    return [...this.functions.values()].filter((f) => f.trigger.type.toLowerCase() === type.toLowerCase());
  }
}

let programmingModel: ProgrammingModel | undefined;
let current: FunctionRegistry | undefined;

/** Log sink for worker/library messages; the host replaces it (default: warnings and errors to stderr). */
export let coreLogSink: (level: string, category: string, message: string) => void = (level, _category, message) => {
  if (level === "error" || level === "critical" || level === "warning") console.error(`[functions] ${level}: ${message}`);
};

/** Replaces the log sink. */
export function setCoreLogSink(sink: typeof coreLogSink): void {
  coreLogSink = sink;
}

function requireRegistry(): FunctionRegistry {
  if (!current) throw new Error("No local host is loading function modules right now.");
  return current;
}

/** The object served as `require("@azure/functions-core")`. */
export const coreApi = {
  version: "3.10.1",
  hostVersion: "4.1037.0",
  registerFunction(metadata: FunctionMetadata, handler: FunctionCallback): { dispose(): void } {
    const registry = requireRegistry();
    registry.register(metadata, handler);
    return { dispose: () => registry.functions.delete(metadata.name) };
  },
  setProgrammingModel(model: ProgrammingModel): void {
    programmingModel = model;
  },
  getProgrammingModel(): ProgrammingModel | undefined {
    return programmingModel;
  },
  registerHook(hookName: string, callback: HookCallback): { dispose(): void } {
    const registry = requireRegistry();
    (registry.hooks[hookName] ??= []).push(callback);
    return {
      dispose: () => {
        const list = registry.hooks[hookName] ?? [];
        const i = list.indexOf(callback);
        if (i >= 0) list.splice(i, 1);
      },
    };
  },
  log(level: string, category: string, message: string): void {
    const registry = current;
    if (registry) {
      registry.logs.push({ level, category, message });
      if (registry.logs.length > 1000) registry.logs.shift();
    }
    coreLogSink(level, category, message);
  },
};

let installed = false;
const hostRequire = Module.createRequire(__filename);

/** Hooks Node's CommonJS loader so that `require("@azure/functions-core")` returns {@link coreApi}. Idempotent. */
export function installCoreApi(): void {
  if (installed) return;
  installed = true;
  type LoadFn = (request: string, parent: unknown, isMain: boolean) => unknown;
  const mod = Module as unknown as { _load: LoadFn };
  const original = mod._load;
  mod._load = function (request: string, parent: unknown, isMain: boolean): unknown {
    if (request === "@azure/functions-core") return coreApi;
    return original.call(this, request, parent, isMain);
  };
}

/** The programming model the library registered (after the first `app.*` call). */
export function getProgrammingModel(): ProgrammingModel {
  if (!programmingModel) throw new Error("@azure/functions never called setProgrammingModel: no function was registered.");
  return programmingModel;
}

/**
 * Imports function modules (absolute paths) with registrations captured into a new registry. Modules that
 * were already imported in this process are imported again so they register into this registry.
 */
export function loadFunctionModules(modules: string[]): FunctionRegistry {
  installCoreApi();
  const registry = new FunctionRegistry();
  const previous = current;
  current = registry;
  try {
    for (const file of modules) {
      const resolved = hostRequire.resolve(file);
      delete hostRequire.cache[resolved];
      hostRequire(resolved);
    }
  } finally {
    current = previous ?? registry;
  }
  current = registry;
  return registry;
}

installCoreApi();
