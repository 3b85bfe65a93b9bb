/**
 * A boolean from a setting, or undefined when the value is not one. `lenient` (environment values, request fields):
 * a boolean, or true/false, 1/0, yes/no in any case with surrounding spaces. `strict` (JSON settings such as the VM
 * extension's): a boolean or exactly "true" / "false".
 */
export function parseBoolean(value: unknown, dialect: "lenient" | "strict"): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (typeof value !== "string") return undefined;
  const v = dialect === "lenient" ? value.trim().toLowerCase() : value;
  if (v === "true" || (dialect === "lenient" && (v === "1" || v === "yes"))) return true;
  if (v === "false" || (dialect === "lenient" && (v === "0" || v === "no"))) return false;
  return undefined;
}
