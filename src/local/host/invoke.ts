/**
 * Invokes captured functions the way the Node worker does: an RPC-shaped invocation request goes through
 * the library's own InvocationModel (getArguments -> preInvocation hooks -> invokeFunction ->
 * postInvocation hooks -> getResponse), so handlers receive a real HttpRequest and InvocationContext and
 * extra inputs (such as the durable client binding) resolve through `context.extraInputs`.
 */
import { randomUUID } from "node:crypto";
import { formatTimeSpan } from "./host-json";
import {
  getProgrammingModel,
  type BindingInfo,
  type FunctionRegistry,
  type InvocationContextLike,
  type RegisteredFunction,
} from "./core-api";

/** RpcTypedData: one of these fields is set. */
export interface RpcTypedData {
  string?: string;
  json?: string;
  bytes?: Uint8Array;
  int?: number;
  double?: number;
  http?: RpcHttpData;
}

/** RpcHttpData as the worker receives it for an HTTP trigger. */
export interface RpcHttpData {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  params?: Record<string, string>;
  body?: RpcTypedData;
  statusCode?: string;
  cookies?: RpcHttpCookie[];
}

/** A cookie as @azure/functions serialises it for the host. */
export interface RpcHttpCookie {
  name: string;
  value: string;
  domain?: { value?: string } | null;
  path?: { value?: string } | null;
  expires?: { value?: { seconds?: number | string } } | null;
  secure?: { value?: boolean } | null;
  httpOnly?: { value?: boolean } | null;
  sameSite?: string;
  maxAge?: { value?: number } | null;
}

/** What one invocation produced. */
export interface InvocationOutcome {
  context: InvocationContextLike;
  result?: unknown;
  error?: unknown;
  /** The worker's response payload (return value converted by the library), when asked for. */
  returnValue?: RpcTypedData | null;
}

/** Options for {@link invokeFunction}. */
export interface InvokeOptions {
  /** Data for the trigger binding. */
  trigger?: RpcTypedData | null;
  /** Data for extra input bindings, by binding info; undefined leaves the input unset. */
  extraInput?: (binding: BindingInfo, name: string) => RpcTypedData | undefined;
  /** Trigger metadata (RpcTypedData by key). */
  triggerMetadata?: Record<string, RpcTypedData>;
  /** Also run getResponse to obtain the converted return value (HTTP). */
  wantResponse?: boolean;
  /** Receives user and system log lines of this invocation. */
  log?: (level: string, category: string, message: string) => void;
  /** Called with the invocation context once the library built it, before any hook or the handler runs. */
  beforeInvoke?: (context: InvocationContextLike) => void;
}

/**
 * host.json functionTimeout, as the Functions host enforces it: an invocation still running when it expires fails
 * with the host's message (the handler's eventual result is dropped; on Azure the worker would be recycled).
 */
async function withFunctionTimeout<T>(call: Promise<T>, timeoutMs: number | undefined, name: string, invocationId: string): Promise<T> {
  if (timeoutMs === undefined) return call;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `Timeout value of ${formatTimeSpan(timeoutMs)} exceeded by function 'Functions.${name}' (Id: '${invocationId}'). Initiating cancellation.`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([call, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Invokes `fn` through the library's InvocationModel; never throws for handler errors (see `error`). */
export async function invokeFunction(
  registry: FunctionRegistry,
  fn: RegisteredFunction,
  options: InvokeOptions,
): Promise<InvocationOutcome> {
  const invocationId = randomUUID();
  const inputData: { name: string; data: RpcTypedData | null | undefined }[] = [];
  inputData.push({ name: fn.triggerName, data: options.trigger ?? undefined });
  for (const [name, binding] of Object.entries(fn.metadata.bindings)) {
    if (name === fn.triggerName || binding.direction !== "in") continue;
    const data = options.extraInput?.(binding, name);
    if (data !== undefined) inputData.push({ name, data });
  }
  const coreCtx: Record<string, unknown> = {
    invocationId,
    request: { invocationId, functionId: fn.name, inputData, triggerMetadata: options.triggerMetadata ?? {} },
    metadata: fn.metadata,
    state: undefined,
    log: (level: string, category: string, message: string) => {
      options.log?.(level, category, message);
    },
  };
  const model = getProgrammingModel().getInvocationModel(coreCtx);
  const { context, inputs } = await model.getArguments();
  options.beforeInvoke?.(context);

  const hookData: Record<string, unknown> = {};
  const pre: Record<string, unknown> = {
    invocationContext: context,
    inputs,
    functionCallback: fn.handler,
    hookData,
    appHookData: registry.appHookData,
  };
  let result: unknown;
  let error: unknown;
  try {
    coreCtx.state = "preInvocationHooks";
    for (const hook of registry.hooks.preInvocation ?? []) await hook(pre);
    coreCtx.state = "invocation";
    const call = model.invokeFunction(context, pre.inputs as unknown[], pre.functionCallback as RegisteredFunction["handler"]);
    result = await withFunctionTimeout(call, registry.functionTimeoutMs, fn.name, invocationId);
  } catch (err) {
    error = err;
  }
  const post: Record<string, unknown> = {
    invocationContext: context,
    inputs: pre.inputs,
    result,
    error,
    hookData,
    appHookData: registry.appHookData,
  };
  coreCtx.state = "postInvocationHooks";
  for (const hook of registry.hooks.postInvocation ?? []) {
    try {
      await hook(post);
    } catch (err) {
      post.error = err;
    }
  }
  coreCtx.state = undefined;
  const outcome: InvocationOutcome = { context, result: post.result, error: post.error };
  if (options.wantResponse && outcome.error === undefined) {
    try {
      const response = await model.getResponse(context, outcome.result);
      outcome.returnValue = response.returnValue as RpcTypedData | null | undefined;
    } catch (err) {
      outcome.error = err;
    }
  }
  return outcome;
}

/** Runs every `appStart` hook (the worker does this once, after loading the app). */
export async function runAppStartHooks(registry: FunctionRegistry, functionAppDirectory: string): Promise<void> {
  for (const hook of registry.hooks.appStart ?? []) {
    await hook({ hookData: {}, appHookData: registry.appHookData, functionAppDirectory });
  }
}

/** Runs every `appTerminate` hook. */
export async function runAppTerminateHooks(registry: FunctionRegistry): Promise<void> {
  for (const hook of registry.hooks.appTerminate ?? []) {
    await hook({ hookData: {}, appHookData: registry.appHookData });
  }
}
