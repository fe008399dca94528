// A real OpenID provider for the oidc module's tests: npm's oidc-provider
// (a certified implementation) with its development login pages, on a
// loopback port of its own choosing. It prints {"issuer": "..."} on its
// first line of output once it listens.
//
// Environment:
//   OIDC_CLIENTS   JSON array of {client_id, client_secret, redirect_uris}
//   OIDC_ACCOUNTS  JSON object: login name -> {email, email_verified, name};
//                  any other login signs in as <login>@example.com, verified
//   OIDC_ID_TOKEN_TTL  ID token lifetime in seconds (default 3600)
import http from 'node:http';
import Provider from 'oidc-provider';

const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}') || {};
const idTokenTTL = Number(process.env.OIDC_ID_TOKEN_TTL || 3600);

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients,
    findAccount: (ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        email: `${id}@example.com`,
        email_verified: true,
        name: id,
        ...accounts[id],
      }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    cookies: { keys: ['test-only-cookie-key-0123456789abcdef'] },
    ttl: { IdToken: idTokenTTL },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  provider.on('grant.error', (ctx, err) => console.error('grant.error', err.error, err.error_detail));
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
