/** `node --import tsx src/local/ca-cli.ts`: make sure the local CA exists and print the path of its certificate. */
import path from "node:path";
import { ensureLocalCa } from "./ca";
import { kvAcmeHome } from "./paths";

ensureLocalCa(path.join(kvAcmeHome(), "ca")).then(
  (ca) => console.log(ca.caFile),
  (err: unknown) => {
    console.error(`kv-acme: cannot create the local CA: ${(err as Error).message}`);
    process.exit(1);
  },
);
