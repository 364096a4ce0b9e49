/* testkeys.h — the signing keys whose private halves are published: tokenwatch's own TEST-ONLY
 * keys (tests/gen/keys/, made by tests/gen/make_keys.py; the demo key sets etc/demo/keys/demo-*.jwks.json
 * hold their public halves), and the example keys printed in RFC 7520 and RFC 8037,
 * recognised by RFC 7638 JWK thumbprint.
 *
 * Used by `tokenwatch keys show` (marks them), `keys check` (reports a configuration that
 * trusts one) and the sensor's start and reload (refused unless allow-test-keys). Anyone can mint tokens such a key verifies: trusting one outside the demo and
 * the tests is a finding. tests/e2e/run_keys_cli.py recomputes the thumbprint of every private
 * key under tests/gen/keys/ (and of the RFC keys in ../shared when present) and fails when one
 * is missing from the table.
 */
#ifndef TW_TESTKEYS_H
#define TW_TESTKEYS_H

/* Where the private half of the key with this thumbprint (base64url, no padding) is published,
 * e.g. "tests/gen/keys/TEST-ONLY-org-1.key.pem" or "RFC 7520 section 3.4 (RSA)", or NULL when
 * it is not a known test key. */
const char *testkey_source(const char *jkt);

#endif
