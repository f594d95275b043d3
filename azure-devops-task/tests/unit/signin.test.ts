/** Exactly one sign-in source: a connection, the other connection, or the sign-in inputs. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseSource, explicitSignIn } from '../../src/signin';

const SIGN_IN = ['auth', 'tenantId', 'clientId', 'clientSecret', 'clientCertificate', 'clientCertificatePassword', 'username', 'password'];

test('auth: auto alone is no sign-in; any other auth is', () => {
  assert.deepEqual(explicitSignIn(SIGN_IN, { auth: ' Auto ', pipeline: 'p' }), []);
  assert.deepEqual(explicitSignIn(SIGN_IN, { auth: 'oidc' }), ['auth']);
});

test('each source alone is chosen', () => {
  assert.deepEqual(chooseSource(SIGN_IN, {}, { azureSubscription: 'a' }), { kind: 'azureSubscription', id: 'a' });
  assert.deepEqual(chooseSource(SIGN_IN, { auth: 'auto' }, { fabricConnection: 'f' }), { kind: 'fabricConnection', id: 'f' });
  assert.deepEqual(chooseSource(SIGN_IN, { clientSecret: 's', tenantId: 't' }, {}), { kind: 'inputs', names: ['tenantId', 'clientSecret'] });
});

test('a connection beside several sign-in inputs names them all', () => {
  assert.throws(
    () => chooseSource(SIGN_IN, { tenantId: 't', clientId: 'c', clientSecret: 's' }, { fabricConnection: 'f' }),
    { message: 'fabricConnection and the sign-in inputs tenantId, clientId, clientSecret are both given: sign in with one of them, and remove the other' },
  );
});

test('three sources at once are all named', () => {
  assert.throws(() => chooseSource(SIGN_IN, { password: 'p' }, { azureSubscription: 'a', fabricConnection: 'f' }), {
    message: 'azureSubscription, fabricConnection and password are all given: sign in with one of them, and remove the others',
  });
});

test('no source fails naming the three ways', () => {
  assert.throws(() => chooseSource(SIGN_IN, { pipeline: 'p' }, {}), /^TaskError: No sign-in is given: set azureSubscription .+, or fabricConnection .+, or the sign-in inputs \(auth, tenantId, /);
});
