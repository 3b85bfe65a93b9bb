/** `node --import tsx src/local/ca-cli.ts`: make sure the local CA exists and print the path of its certificate. */
import { ensureLocalCa } from "./ca";

ensureLocalCa().then(
  (ca) => console.log(ca.caFile),
  (err: unknown) => {
    console.error(`kv-acme: cannot create the local CA: ${(err as Error).message}`);
    process.exit(1);
  },
);
