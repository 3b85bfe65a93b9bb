/** The `issuer-pins` command's arguments and the `--issuer-pins` option, shared by the local and the --endpoint CLI. */
import { ValidationError } from "../shared/errors";

function usageError(message: string): ValidationError {
  return new ValidationError([{ field: "arguments", message }]);
}

/** `--issuer-pins a,b --issuer-pins c` -> [a, b, c] (validated by the command). */
export function pinList(values: string[]): string[] {
  return values.flatMap((v) => v.split(",")).filter((p) => p.trim() !== "");
}

/** `issuer-pins show N` | `issuer-pins set N T1[,T2...]` | `issuer-pins clear N`. */
export function issuerPinsArgs(positionals: string[]): { action: "show" | "set" | "clear"; name: string; pins: string[] } {
  const [action, name, ...pins] = positionals;
  if (action !== "show" && action !== "set" && action !== "clear")
    throw usageError(`unknown issuer-pins action "${action ?? ""}"; use show, set or clear`);
  if (!name) throw usageError(`issuer-pins ${action} needs a certificate name`);
  if (action === "set" && pins.length === 0) throw usageError("issuer-pins set needs one or more issuer thumbprints");
  if (action !== "set" && pins.length > 0) throw usageError(`unexpected arguments: ${pins.join(" ")}`);
  return { action, name, pins: pinList(pins) };
}
