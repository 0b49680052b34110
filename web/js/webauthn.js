// WebAuthn in the browser for kura: base64url <-> bytes around navigator.credentials,
// so the API's JSON (docs/api.md) goes in and out unchanged. Every check happens on the
// server (src/auth/webauthn.c); WebAuthn needs a secure context (HTTPS, or http://localhost).
export { api } from './kura.js';

const enc = (buf) => {
  let s = '';
  for (const c of new Uint8Array(buf)) s += String.fromCharCode(c);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};
const dec = (str) => {
  const s = atob(str.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((str.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
};
const ids = (list) => (list || []).map((c) => ({ ...c, id: dec(c.id) }));

// options: the answer of POST /api/v1/me/mfa/webauthn/register
export async function create(options) {
  const pk = options.publicKey;
  const publicKey = { ...pk, challenge: dec(pk.challenge), user: { ...pk.user, id: dec(pk.user.id) },
    excludeCredentials: ids(pk.excludeCredentials) };
  const c = await navigator.credentials.create({ publicKey });
  return { id: c.id, rawId: enc(c.rawId), type: c.type,
    response: { clientDataJSON: enc(c.response.clientDataJSON),
      attestationObject: enc(c.response.attestationObject) } };
}

// options: the "webauthn" member of the 202 answer of POST /api/v1/session
export async function get(options) {
  const pk = options.publicKey;
  const publicKey = { ...pk, challenge: dec(pk.challenge), allowCredentials: ids(pk.allowCredentials) };
  const c = await navigator.credentials.get({ publicKey });
  const r = c.response;
  return { id: c.id, rawId: enc(c.rawId), type: c.type,
    response: { clientDataJSON: enc(r.clientDataJSON), authenticatorData: enc(r.authenticatorData),
      signature: enc(r.signature), userHandle: r.userHandle ? enc(r.userHandle) : null } };
}
