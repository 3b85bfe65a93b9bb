/** kv-acme's version, written once in package.json. */
import pkg from "../../package.json";

export const KVACME_VERSION: string = pkg.version;
