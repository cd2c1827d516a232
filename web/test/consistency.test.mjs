// Read your writes in the web app (issue 25): the token of a write's answer
// is kept and sent with every later read (no browser: fetch is replaced).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLsn, newerToken, sendJson, getJson, CONSISTENCY } from '../src/api.js';

test('WAL positions compare as numbers, not text', () => {
  assert.equal(parseLsn('0/3000060'), 0x3000060n);
  assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) | 0xB374D848n);
  for (const bad of ['', '0', '1/', 'x/1', '0/123456789', null, undefined]) assert.equal(parseLsn(bad), null, String(bad));
  // As text '0/FFFFFFFF' sorts after '1/0'; as positions it comes before.
  assert.equal(newerToken('0/FFFFFFFF', '1/0'), '1/0');
  assert.equal(newerToken('1/0', '0/FFFFFFFF'), '1/0');
  assert.equal(newerToken(null, '0/10'), '0/10');
  assert.equal(newerToken('0/10', 'garbage'), '0/10');
  assert.equal(newerToken(null, null), null);
});

test('a write\'s token is sent with the reads after it, and only a newer one replaces it', async () => {
  const seen = [];
  const answers = [];
  globalThis.fetch = async (url, init = {}) => {
    seen.push({ url, headers: { ...(init.headers ?? {}) } });
    const token = answers.shift();
    return new Response(JSON.stringify({ ok: true }), {
      status: 200,
      headers: { 'Content-Type': 'application/json', ...(token ? { [CONSISTENCY]: token } : {}) },
    });
  };
  await getJson('/api/v1/targets');
  assert.equal(seen[0].headers[CONSISTENCY], undefined, 'no token before any write');
  answers.push('0/3000060');
  await sendJson('POST', '/api/v1/sites', { site_id: 'S-1' }, { bearer: 't' });
  assert.equal(seen[1].headers.Authorization, 'Bearer t');
  await getJson('/api/v1/municipalities/05111000');
  assert.equal(seen[2].headers[CONSISTENCY], '0/3000060');
  answers.push('0/2000000'); // an older token (another node's answer) does not win
  await sendJson('PATCH', '/api/v1/sites/S-1', { status: 'on_air' }, { bearer: 't', ifMatch: 'W/"1"' });
  assert.equal(seen[3].headers['If-Match'], 'W/"1"');
  await getJson('/api/v1/targets');
  assert.equal(seen[4].headers[CONSISTENCY], '0/3000060');
});
