/**
 * The IDNA tables (idn-hostname, ~25 ms to load) stay unloaded while only plain ASCII names are normalized and
 * validated, and are loaded by the first internationalised name (cold start: most requests never need them).
 * Its own file: it needs a process in which nothing else has loaded idn-hostname.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { normalizeDnsName, validateDnsNames } from "../../src/acme/names";

const idnLoaded = () => Object.keys(require.cache).some((file) => file.includes(`${"node_modules"}/idn-hostname/`));

it("plain ASCII names do not load idn-hostname; the first IDN does", () => {
  assert.equal(idnLoaded(), false, "loaded before any name was seen");
  assert.equal(normalizeDnsName(" WWW.Example.COM. "), "www.example.com");
  assert.deepEqual(validateDnsNames(["example.com", "*.example.com", "a-b.example.org"]), [
    "example.com",
    "*.example.com",
    "a-b.example.org",
  ]);
  assert.equal(idnLoaded(), false, "an ASCII name loaded the IDNA tables");
  assert.equal(normalizeDnsName("Bücher.de"), "xn--bcher-kva.de");
  assert.equal(idnLoaded(), true, "the IDN did not load idn-hostname (the check above would pass for any module name)");
});
