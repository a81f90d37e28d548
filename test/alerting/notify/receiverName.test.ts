import { test } from 'node:test';
import assert from 'node:assert/strict';
import { receiverName, shownReceiverName } from '../../../src/alerting/notify/receiverName.js';

test("a Slack receiver's name hides its webhook path, which is the credential", () => {
  const name = receiverName('slack', 'https://hooks.slack.com/services/T000/B000/XXXXSECRET');
  assert.match(name, /^slack https:\/\/hooks\.slack\.com\/\[redacted\] #[0-9a-f]{12}$/);
});

test("a webhook receiver's name keeps its path but not the credentials in its userinfo or query", () => {
  const name = receiverName('webhook', 'https://ops:hunter2hunter2@hooks.example/alerts?token=abc123&team=sre');
  assert.ok(!name.includes('hunter2') && !name.includes('abc123'), name);
  assert.match(name, /^webhook https:\/\/ops:\[redacted\]@hooks\.example\/alerts\?token=\[redacted\]&team=sre #[0-9a-f]{12}$/);
});

test('two Slack channels on one host keep distinct, stable names', () => {
  const one = receiverName('slack', 'https://hooks.slack.com/services/T/B/one');
  assert.notEqual(one, receiverName('slack', 'https://hooks.slack.com/services/T/B/two'));
  assert.equal(one, receiverName('slack', 'https://hooks.slack.com/services/T/B/one'));
});

test('a name stored with the whole URL is shown, and matched, as the receiver is named today', () => {
  const url = 'https://hooks.slack.com/services/T/B/XXXX';
  assert.equal(shownReceiverName(`slack ${url}`), receiverName('slack', url));
  assert.equal(shownReceiverName(receiverName('slack', url)), receiverName('slack', url));
  assert.equal(shownReceiverName('silenced by 0b6e'), 'silenced by 0b6e');
});
