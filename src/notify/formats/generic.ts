/**
 * The `generic` format: a CloudEvents 1.0 event in structured mode (JSON). `type` is the reverse-DNS name of the
 * project's home (github.com/kv-acme) + the event type, as CloudEvents recommends (filters keep using the short
 * type); `source` is an absolute URI (eventSource); `dataschema` names the definition of `data` in the versioned
 * schema (schema/v1.json) by a JSON Pointer.
 */
import { DATA_SCHEMA_VERSION, type NotifyEvent } from "../events";

/** `$id` of schema/v1.json. */
export const DATA_SCHEMA_ID = `urn:kv-acme:webhook-data:v${DATA_SCHEMA_VERSION}`;
export const CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8";
export const CLOUDEVENT_TYPE_PREFIX = "com.github.kv-acme.";

export interface CloudEvent {
  specversion: "1.0";
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  datacontenttype: "application/json";
  dataschema: string;
  data: NotifyEvent["data"];
}

/** Renders an event as a CloudEvents 1.0 structured-mode JSON object. */
export function renderGeneric(event: NotifyEvent): CloudEvent {
  return {
    specversion: "1.0",
    id: event.id,
    source: event.source,
    type: `${CLOUDEVENT_TYPE_PREFIX}${event.type}`,
    subject: event.subject,
    time: event.time,
    datacontenttype: "application/json",
    dataschema: `${DATA_SCHEMA_ID}#/$defs/${event.type}`,
    data: event.data,
  };
}
