/** JSON Schema validators for the tests: the webhook data schema (2020-12) and the Adaptive Card 1.4 subset (draft-07). */
import Ajv2020 from "ajv/dist/2020";
import Ajv from "ajv";
import type { ValidateFunction } from "ajv";
import dataSchema from "../../src/notify/schema/v1.json";
import cardSchema from "./adaptive-card-1.4.subset.json";

const dateTime = (s: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s));

const ajv2020 = new Ajv2020({ allErrors: true, strict: true });
ajv2020.addFormat("date-time", dateTime);
ajv2020.addSchema(dataSchema);

const ajv07 = new Ajv({ allErrors: true, strict: true });
ajv07.addFormat("uri", (s: string) => URL.canParse(s));
const card = ajv07.compile(cardSchema);

/** The validator a CloudEvent's `dataschema` names (e.g. `urn:kv-acme:webhook-data:v1#/$defs/certificate.renewed`). */
export function dataValidator(dataschema: string): ValidateFunction {
  const v = ajv2020.getSchema(dataschema);
  if (!v) throw new Error(`no schema for ${dataschema}`);
  return v;
}

export function validateAdaptiveCard(value: unknown): { ok: boolean; errors: string } {
  const ok = card(value) as boolean;
  return { ok, errors: ajv07.errorsText(card.errors) };
}

export function errorsOf(v: ValidateFunction): string {
  return ajv2020.errorsText(v.errors);
}
