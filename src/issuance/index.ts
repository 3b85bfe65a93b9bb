/** The issuance domain: the flow, its steps (for durable activities), renewal, revocation and pending operations. */
export * from "./deps";
export * from "./steps";
export * from "./merge-step";
export * from "./issue";
export * from "./renew";
export * from "./revoke";
export * from "./pending";
export * from "./issuer-pins";
export * from "./edit-names";
