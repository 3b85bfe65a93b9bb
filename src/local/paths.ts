/** Where the local stack keeps its state: $KVACME_HOME, else .local/ in the project. */
import path from "node:path";

export function kvAcmeHome(): string {
  return process.env.KVACME_HOME ?? path.resolve(__dirname, "..", "..", ".local");
}
