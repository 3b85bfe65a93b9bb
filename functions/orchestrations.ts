/** Durable orchestrations (generator functions in src/orchestrations, one file per workflow). */
import * as df from "durable-functions";
import { ORCHESTRATIONS } from "../src/orchestrations/ids";
import { issueCertificateOrchestrator } from "../src/orchestrations/issue-certificate";
import { renewBatchOrchestrator } from "../src/orchestrations/renew-batch";
import { renewCertificatesOrchestrator } from "../src/orchestrations/renew-certificates";
import { revokeCertificateOrchestrator } from "../src/orchestrations/revoke-certificate";

df.app.orchestration(ORCHESTRATIONS.issue, issueCertificateOrchestrator);
df.app.orchestration(ORCHESTRATIONS.renewAll, renewCertificatesOrchestrator);
df.app.orchestration(ORCHESTRATIONS.renewBatch, renewBatchOrchestrator);
df.app.orchestration(ORCHESTRATIONS.revoke, revokeCertificateOrchestrator);
