/**
 * Records every HTTP exchange made through the global fetch while active (request method, URL, headers, body and the
 * response status, headers and body), so a test can hold a provider's real traffic against the vendor's schema.
 */
export interface Exchange {
  method: string;
  url: URL;
  requestHeaders: Record<string, string>;
  requestBody: string;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: string;
}

export function recordFetch(): { exchanges: Exchange[]; stop(): void } {
  const original = globalThis.fetch;
  const exchanges: Exchange[] = [];
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const res = await original(input, init);
    const text = await res.clone().text();
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v));
    const responseHeaders: Record<string, string> = {};
    res.headers.forEach((v, k) => (responseHeaders[k] = v));
    exchanges.push({
      method: (init?.method ?? "GET").toUpperCase(),
      url,
      requestHeaders: headers,
      requestBody: typeof init?.body === "string" ? init.body : "",
      status: res.status,
      responseHeaders,
      responseBody: text,
    });
    return res;
  };
  return {
    exchanges,
    stop() {
      globalThis.fetch = original;
    },
  };
}
