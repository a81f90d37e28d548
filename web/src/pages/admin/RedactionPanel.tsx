import { useState } from 'preact/hooks';
import { api } from '../../api/client';
import { useApi } from '../panels/useApi';
import type { RedactionResponse, RedactionSampleResponse } from '@api/redaction';

const modeText = {
  redact: 'redact: secrets are replaced before anything is stored',
  observe: 'observe: lines are stored as sent, marked, and masked in query results for readers without the unmasker role',
};

/** Redaction rules in force (read-only: they are set in the config file) and a sample line put through the real redaction code. */
export function RedactionPanel() {
  const redaction = useApi<RedactionResponse>('/api/v1/admin/redaction');
  const [line, setLine] = useState('');
  const [result, setResult] = useState<RedactionSampleResponse | undefined>();
  const [error, setError] = useState<string | undefined>();

  const test = async (event: Event) => {
    event.preventDefault();
    try {
      setResult(await api<RedactionSampleResponse>('/api/v1/admin/redaction/test', { method: 'POST', body: { line } }));
      setError(undefined);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const view = redaction.data;

  return (
    <>
      <section class="panel" aria-label="test a sample line">
        <h2>
          Test a sample line <span class="dim">(run through the active rules; nothing is stored and the sample is not recorded)</span>
        </h2>
        <form onSubmit={test}>
          <textarea
            value={line}
            onInput={(e) => setLine(e.currentTarget.value)}
            rows={3}
            cols={100}
            aria-label="sample line"
            placeholder="a log line, e.g. user=ana@example.com paid with 4111 1111 1111 1111"
          />
          <p>
            <button type="submit" class="primary" disabled={!line}>
              Test
            </button>
          </p>
        </form>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {result && (
          <div role="status" aria-label="redaction result">
            <p>
              {result.changed ? (
                <>
                  Redacted by{' '}
                  {Object.entries(result.matches)
                    .map(([rule, count]) => `${rule} (${count})`)
                    .join(', ')}
                  .
                </>
              ) : (
                'No rule matches this line: it is stored and shown as it is.'
              )}
            </p>
            <p class="dim">
              {result.mode === 'observe' ? 'Stored as sent; readers without the unmasker role see:' : 'Stored and shown as:'}
            </p>
            <pre class="mono" aria-label="masked output">
              {result.shown}
            </pre>
          </div>
        )}
      </section>
      <section class="panel" aria-label="redaction rules">
        <h2>
          Redaction rules{' '}
          <span class="dim">
            (read-only: set under pipeline.redaction in the config file, applied at ingest; change them there and restart)
          </span>
        </h2>
        {redaction.error && <p class="error">{redaction.error}</p>}
        {view && (
          <>
            <p>
              Mode: <strong aria-label="redaction mode">{view.enabled ? view.mode : 'off'}</strong>{' '}
              <span class="dim">{view.enabled ? modeText[view.mode] : 'pipeline.redaction.enabled is false: nothing is redacted'}</span>
            </p>
            <p class="dim">
              Secrets become {view.keyed_hash ? 'keyed hashes ([REDACTED:rule:hmac], equal values still join)' : '[REDACTED:rule]'}.
              {view.attribute_allowlist.length > 0 && ` Only these log attributes are kept: ${view.attribute_allowlist.join(', ')}.`}
              {view.masked_fields.length > 0 && ` Fields masked at read time: ${view.masked_fields.join(', ')}.`}
            </p>
            <table class="grid" aria-label="active rules">
              <thead>
                <tr>
                  <th>Rule</th>
                  <th>Kind</th>
                  <th>Matches</th>
                </tr>
              </thead>
              <tbody>
                {view.rules.map((rule) => (
                  <tr key={rule.name}>
                    <td>{rule.name}</td>
                    <td>{rule.kind === 'builtin' ? 'built-in' : 'custom'}</td>
                    <td class="mono wrap">{rule.pattern}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {view.available.length > 0 && <p class="dim">Built-in rules not in use: {view.available.join(', ')}.</p>}
          </>
        )}
      </section>
    </>
  );
}
