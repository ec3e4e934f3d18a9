// A real OpenID Connect provider for Sumun's console tests: panva/oidc-provider (OpenID
// Certified), on loopback only, with test users and no persistence.
//
//   node tests/oidc/server.mjs
//
// Environment:
//   OIDC_PORT          the loopback port to listen on (127.0.0.1)
//   OIDC_ISSUER        the issuer URL (default http://localhost:$OIDC_PORT)
//   OIDC_REDIRECT_URI  the console's callback URL, registered for both clients
//   OIDC_CLIENT_SECRET the confidential client's secret
//
// Clients: "sumun-console" (confidential, client_secret_basic, ID tokens RS256) and
// "sumun-console-public" (public, PKCE only, ID tokens ES256). PKCE is required of both.
// Login: oidc-provider's development interactions; the login name is the account id, any
// password. Accounts (claims `name`, `sumun_role`, `sumun_tenant`, scope "sumun"):
//   alice   sumun-admins            tenant demo   → admin of the demo's operator tenant
//   bob     sumun-auditors          tenant demo   → auditor of it
//   carol   staff                   tenant demo   → no mapped role (refused)
//   dave    [staff, sumun-admins]   tenant acme   → admin of tenant acme only
// Prints one JSON line {"issuer": …} on stdout once listening.

import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:http";
import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  throw new Error("set OIDC_PORT to the port to listen on");
}
const issuer = process.env.OIDC_ISSUER ?? `http://localhost:${port}`;
const redirectUri = process.env.OIDC_REDIRECT_URI;
if (!redirectUri) {
  throw new Error("set OIDC_REDIRECT_URI to the console's callback URL");
}
const secret = process.env.OIDC_CLIENT_SECRET ?? "sumun-test-secret";

const ACCOUNTS = {
  alice: { name: "Alice Admin", sumun_role: "sumun-admins", sumun_tenant: "demo" },
  bob: { name: "Bob Auditor", sumun_role: "sumun-auditors", sumun_tenant: "demo" },
  carol: { name: "Carol Staff", sumun_role: "staff", sumun_tenant: "demo" },
  dave: { name: "Dave Tenant", sumun_role: ["staff", "sumun-admins"], sumun_tenant: "acme" },
};

function jwk(kind, options, kid, alg) {
  const { privateKey } = generateKeyPairSync(kind, options);
  return { ...privateKey.export({ format: "jwk" }), kid, alg, use: "sig" };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "sumun-console",
      client_secret: secret,
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "client_secret_basic",
      id_token_signed_response_alg: "RS256",
    },
    {
      client_id: "sumun-console-public",
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "none",
      id_token_signed_response_alg: "ES256",
    },
  ],
  jwks: {
    keys: [
      jwk("rsa", { modulusLength: 2048 }, "rsa-1", "RS256"),
      jwk("ec", { namedCurve: "P-256" }, "ec-1", "ES256"),
    ],
  },
  claims: {
    openid: ["sub"],
    profile: ["name"],
    sumun: ["sumun_role", "sumun_tenant"],
  },
  conformIdTokenClaims: false, // the scope's claims in the ID token, not only userinfo
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ["sumun-test-cookie-key"] },
  async findAccount(_ctx, id) {
    const claims = ACCOUNTS[id];
    if (!claims) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
});

const server = createServer(provider.callback());
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
