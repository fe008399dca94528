#!/usr/bin/env bash
# Independent check of asymmetric access tokens: for each of EdDSA
# (Ed25519), ES256 (P-256) and RS256 (RSA 2048), make a key with openssl,
# start the reference server with -signing-key, register a user, and verify
# the access token with npm "jose" (a JOSE implementation unrelated to
# golang-jwt) against the server's /.well-known/jwks.json, with the issuer,
# audience, typ and the one algorithm pinned. A tampered token must fail
# there too, every kid must be the key's RFC 7638 thumbprint as jose
# computes it, and no key may carry private members.
#
# Then the rotation: restart the server on the same SQLite file with a new
# key (-signing-key) and the old one as -verify-key. The token issued
# before the restart must still verify, in jose and on the server's
# GET /me; a new login must carry the new kid and verify in jose.
#
# Usage: scripts/jose-verify.sh
#   JOSE_VERSION  the npm jose version range to install (default ^5).
#
# Installs jose into a temporary directory (npm registry); the server
# listens on a free port of 127.0.0.1. Needs go, node (20 or later), npm,
# openssl and curl.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."
SERVER_WAIT=60

step "install npm jose ${JOSE_VERSION:-^5} into a temporary directory"
mkdir -p "$tmp/node"
npm install --prefix "$tmp/node" --no-audit --no-fund --silent "jose@${JOSE_VERSION:-^5}" >/dev/null
echo "    jose $(node -p "require('$tmp/node/node_modules/jose/package.json').version")"

# check.mjs register BASE EMAIL       -> prints {"accessToken",...}
# check.mjs login BASE EMAIL          -> likewise
# check.mjs verify BASE ALG TOKEN     -> verifies with jose, prints the kid
cat >"$tmp/node/check.mjs" <<'EOF'
import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

const [cmd, base, ...args] = process.argv.slice(2);
const password = 'correct horse battery staple';

async function post(path, body) {
  const res = await fetch(base + '/api/v2/auth' + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

if (cmd === 'register') {
  console.log(JSON.stringify(await post('/register', { email: args[0], password, name: 'Jose Check' })));
} else if (cmd === 'login') {
  console.log(JSON.stringify(await post('/login', { email: args[0], password })));
} else if (cmd === 'verify') {
  const [alg, token] = args;
  const jwks = createRemoteJWKSet(new URL(base + '/.well-known/jwks.json'));
  const options = { issuer: 'ingestiq-auth', audience: 'ingestiq-auth', algorithms: [alg], typ: 'at+jwt' };
  const { payload, protectedHeader } = await jwtVerify(token, jwks, options);
  if (protectedHeader.alg !== alg || !protectedHeader.kid) throw new Error('header ' + JSON.stringify(protectedHeader));
  if (!payload.sub || !payload.sid || !payload.jti || payload.exp - payload.iat !== 900) {
    throw new Error('claims ' + JSON.stringify(payload));
  }
  // The same token with one signature character changed must fail.
  const parts = token.split('.');
  const mid = Math.floor(parts[2].length / 2);
  const flipped = parts[2][mid] === 'A' ? 'B' : 'A';
  const tampered = [parts[0], parts[1], parts[2].slice(0, mid) + flipped + parts[2].slice(mid + 1)].join('.');
  let rejected = false;
  try {
    await jwtVerify(tampered, jwks, options);
  } catch {
    rejected = true;
  }
  if (!rejected) throw new Error('a tampered token verified');
  // Every kid is the RFC 7638 thumbprint of its key, as jose computes it,
  // and no key carries private material.
  const set = await (await fetch(base + '/.well-known/jwks.json')).json();
  for (const jwk of set.keys) {
    if (jwk.kid !== (await calculateJwkThumbprint(jwk, 'sha256'))) throw new Error('kid is not the thumbprint: ' + jwk.kid);
    for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) if (m in jwk) throw new Error('private member ' + m);
  }
  console.log(decodeProtectedHeader(token).kid);
} else {
  throw new Error('unknown command ' + cmd);
}
EOF
check() { node "$tmp/node/check.mjs" "$@"; }
field() { node -e 'process.stdout.write(JSON.parse(process.argv[1])[process.argv[2]])' "$1" "$2"; }

step "build the reference server"
build_server
echo "    built"

# start_jose_server DB [FLAG...] starts the server on a free port with
# -no-throttle and the flags, and sets $base.
start_jose_server() {
  start_server "$@" -no-throttle
  base="$SERVER_URL"
}

genkey() { # genkey ALG FILE: a PKCS#8 private key and FILE.pub, its PKIX public key
  case "$1" in
  EdDSA) openssl genpkey -algorithm ed25519 -out "$2" ;;
  ES256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$2" ;;
  RS256) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" 2>/dev/null ;;
  esac
  openssl pkey -in "$2" -pubout -out "$2.pub"
}

for alg in EdDSA ES256 RS256; do
  step "$alg: a token of the reference server verifies in jose"
  genkey "$alg" "$tmp/$alg-old.pem"
  genkey "$alg" "$tmp/$alg-new.pem"
  db="sqlite:$tmp/$alg.db"
  email="jose-$alg-$RANDOM@example.com"

  start_jose_server "$db" -signing-key "$tmp/$alg-old.pem"
  old=$(check register "$base" "$email")
  old_token=$(field "$old" accessToken)
  old_kid=$(check verify "$base" "$alg" "$old_token") || fail "$alg: jose rejected the token"
  echo "    jose verified a $alg token, kid $old_kid"
  stop_server

  step "$alg: restart with a new key, the old one as -verify-key"
  start_jose_server "$db" -signing-key "$tmp/$alg-new.pem" -verify-key "$tmp/$alg-old.pem.pub"
  kid=$(check verify "$base" "$alg" "$old_token") || fail "$alg: jose rejected the pre-restart token"
  [ "$kid" = "$old_kid" ] || fail "$alg: kid changed from $old_kid to $kid"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $old_token" "$base/api/v2/auth/me")
  [ "$code" = 200 ] || fail "$alg: GET /me with the pre-restart token answered $code"
  echo "    the pre-restart token verifies in jose and on GET /me"
  new=$(check login "$base" "$email")
  new_kid=$(check verify "$base" "$alg" "$(field "$new" accessToken)") || fail "$alg: jose rejected the new token"
  [ "$new_kid" != "$old_kid" ] || fail "$alg: the new token carries the old kid"
  echo "    a new login carries the new kid $new_kid and verifies in jose"
  stop_server

  step "$alg: restart without the old key"
  start_jose_server "$db" -signing-key "$tmp/$alg-new.pem"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $old_token" "$base/api/v2/auth/me")
  [ "$code" = 401 ] || fail "$alg: GET /me with the retired key's token answered $code"
  if check verify "$base" "$alg" "$old_token" >/dev/null 2>&1; then
    fail "$alg: jose verified a token of the retired key"
  fi
  echo "    the retired key's token is refused by the server and by jose"
  stop_server
done

printf '\nPASS: jose verified EdDSA, ES256 and RS256 tokens of the reference server, across a key rotation\n'
