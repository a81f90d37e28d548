import { isIPv6 } from 'node:net';
import { luhnValid } from './luhn.js';

export interface RedactionRule {
  name: string;
  /** A regex source without flags matching the secret. */
  pattern: string;
  /** A regex source matched just before the secret and kept (`password=`). */
  prefix?: string;
  /**
   * A regex source that every match contains, much cheaper to look for than
   * the pattern (`@`, `eyJ`): values without it skip the rule.
   */
  gate?: string;
  /** A second check on the secret (checksums); a match that fails it is left alone. */
  accept?: (secret: string) => boolean;
}

/** Card numbers of the issuer ranges (Visa, Mastercard, Amex, Discover, JCB, Diners), 13–19 digits, Luhn-valid. */
function isCardNumber(match: string): boolean {
  const digits = match.replace(/[ -]/g, '');
  return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
}

/** SSA never issues area 000, 666 or 9xx, group 00 or serial 0000. */
function isSsn(match: string): boolean {
  const area = match.slice(0, 3);
  return area !== '000' && area !== '666' && area[0] !== '9' && match.slice(4, 6) !== '00' && match.slice(7) !== '0000';
}

const octet = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/**
 * A number inside a longer token is not a secret of its own: the digits of a
 * UUID or request id (`60837783-5337-4406-…`), an HDFS block id
 * (`blk_-6952295868487656571`), a C++ scope (`Mgr::Send`). These guards keep
 * a match from starting or ending inside a word or a dash-joined token.
 */
const notInToken = '(?<![\\w-])';
const tokenEnds = '(?![\\w-])';
const secretParameters = 'password|passwd|pwd|secret|token|api_key|apikey|access_token|client_secret';

/**
 * Built-in rules by name, applied in this order (a URL password before the
 * e-mail rule, which would take `user:pass@host` for an address).
 * ipv4 and ipv6 are off unless listed: mesh logs are full of pod addresses.
 * Repetitions are bounded (RFC lengths) so a hostile value costs linear time.
 */
export const builtinRules: Record<string, RedactionRule> = {
  url_password: { name: 'url_password', prefix: '://[^/\\s:@]{1,128}:', pattern: '[^/\\s@]{1,256}(?=@)', gate: '@' },
  query_secret: { name: 'query_secret', prefix: `[?&;](?:${secretParameters})=`, pattern: '[^&\\s#"]+', gate: '=' },
  email: { name: 'email', pattern: "[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){0,8}\\.[A-Za-z]{2,24}", gate: '@' },
  credit_card: {
    name: 'credit_card',
    pattern: `${notInToken}[2-6]\\d{3}(?:[ -]?\\d){9,15}${tokenEnds}`,
    gate: '\\d{4}[ -]?\\d{4}',
    accept: isCardNumber,
  },
  us_ssn: { name: 'us_ssn', pattern: `${notInToken}\\d{3}-\\d{2}-\\d{4}${tokenEnds}`, gate: '\\d-\\d\\d-\\d', accept: isSsn },
  jwt: { name: 'jwt', pattern: '\\beyJ[A-Za-z0-9_-]{4,}\\.eyJ[A-Za-z0-9_-]{4,}\\.[A-Za-z0-9_-]*', gate: 'eyJ' },
  bearer_token: { name: 'bearer_token', pattern: '\\b[Bb]earer\\s+[A-Za-z0-9._~+/-]{8,}=*', gate: 'earer' },
  aws_access_key: { name: 'aws_access_key', pattern: '\\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\\b', gate: 'A[KSBC][IC]A' },
  github_token: {
    name: 'github_token',
    pattern: '\\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\\b',
    gate: 'gh[pousr]_|github_pat_',
  },
  slack_token: { name: 'slack_token', pattern: '\\bxox[abposr]-[A-Za-z0-9-]{10,}', gate: 'xox' },
  ipv4: { name: 'ipv4', pattern: `\\b${octet}(?:\\.${octet}){3}\\b`, gate: '\\d\\.\\d' },
  ipv6: { name: 'ipv6', pattern: '(?<![\\w:.-])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\\w:.-])', gate: ':', accept: isIPv6 },
};

/** Redacted unless the configuration says otherwise. */
export const defaultRuleNames = [
  'url_password',
  'query_secret',
  'email',
  'credit_card',
  'us_ssn',
  'jwt',
  'bearer_token',
  'aws_access_key',
  'github_token',
  'slack_token',
];
