/** What gets registered with the agent for one secret value. */
import './setup';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secretFragments } from '../../src/secrets';

test('a one-line secret is masked whole, trimmed; a blank one not at all', () => {
  assert.deepEqual(secretFragments('  p@ss word  '), ['p@ss word']);
  assert.deepEqual(secretFragments('   '), []);
});

test('a PEM value is masked per line of key material, never its armour', () => {
  const pem = '-----BEGIN PRIVATE KEY-----\r\nMIIEvQIBADANBgkqhkiG9w0\r\nQEFAASC\r\n-----END PRIVATE KEY-----\r\n';
  assert.deepEqual(secretFragments(pem), ['MIIEvQIBADANBgkqhkiG9w0']);
});

test('any other multi-line value is masked line by line, as each line may be all of it', () => {
  assert.deepEqual(secretFragments('first\n\nsecond\n'), ['first', 'second']);
});
