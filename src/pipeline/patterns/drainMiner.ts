import { createHash } from 'node:crypto';
import { messageTokens, wildcard } from './messageTokens.js';

export interface MinerOptions {
  /** Tokens after the length layer that route a message to its leaf (Drain's depth minus 2). */
  prefixTokens: number;
  /** Share of a template's constant tokens a message must match to join it. */
  similarity: number;
  /** Most children of a tree node before new tokens share the wildcard child. */
  maxChildren: number;
  /** Most templates kept; past it the least recently seen one is forgotten. */
  maxTemplates: number;
}

export const defaultMinerOptions: MinerOptions = { prefixTokens: 2, similarity: 0.7, maxChildren: 100, maxTemplates: 5000 };

/** One mined template: a token sequence whose variable positions are `<*>`. */
export interface LogPattern {
  readonly id: string;
  tokens: string[];
  count: number;
  /** Miner clock (lines seen) when last matched: orders eviction. */
  lastMatched: number;
}

interface TreeNode {
  children: Map<string, TreeNode>;
  patterns: MinedPattern[];
}

/** A pattern stays in the leaf it was born in, even after its routing tokens became wildcards. */
interface MinedPattern extends LogPattern {
  readonly leaf: TreeNode;
  /** Its constant tokens in order (see `constantsOf`). */
  constants: string;
}

function treeNode(): TreeNode {
  return { children: new Map(), patterns: [] };
}

export function patternTemplate(pattern: LogPattern): string {
  return pattern.tokens.join(' ');
}

/** A pattern's id: a digest of the key it was born under and its first template, so a restart re-derives the same id. */
function patternId(key: string, template: string): string {
  return createHash('sha256').update(key).update('\0').update(template).digest('hex').slice(0, 16);
}

/**
 * Online log-template mining after Drain (He et al., ICWS 2017): a message is
 * routed by its token count and first tokens to a short list of templates,
 * joins the most similar one (turning the positions that differ into `<*>`)
 * or starts a new one.
 */
export class DrainMiner {
  private readonly root = new Map<number, TreeNode>();
  private readonly byId = new Map<string, MinedPattern>();
  // Templates by their constant tokens: a message whose constants are a template's, with variables
  // in more or fewer places (`N bytes sent`, `N bytes (M KB) sent`), is that template's message.
  private readonly byConstants = new Map<string, MinedPattern>();
  // Ids of templates already digested. A message with as many variables as constants (`order <*> for <*> via <*>`)
  // never reaches the similarity threshold, not even against the template born from it, so it finds its pattern
  // by id: without this, every such message paid a sha256 (7% of the ingest thread on the OTLP bench).
  private readonly idOfTemplate = new Map<string, string>();
  private clock = 0;

  constructor(
    private readonly key = '',
    private readonly options: MinerOptions = defaultMinerOptions,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  pattern(id: string): LogPattern | undefined {
    return this.byId.get(id);
  }

  patterns(): IterableIterator<LogPattern> {
    return this.byId.values();
  }

  /** The pattern of one message, learning from it. */
  add(message: string): LogPattern {
    const tokens = messageTokens(message);
    const leaf = this.leaf(tokens);
    this.clock++;
    let pattern = this.bestMatch(leaf.patterns, tokens);
    if (pattern) {
      if (generalize(pattern.tokens, tokens)) this.indexConstants(pattern);
    } else {
      const id = this.idOf(tokens);
      // A template born from these very tokens may have generalized past the threshold: it is still theirs.
      pattern = this.byId.get(id);
      if (!pattern) {
        const constants = constantsOf(tokens);
        pattern = this.byConstants.get(constants);
        if (!pattern) pattern = this.create(id, tokens, leaf, constants, 0);
      }
    }
    pattern.count++;
    pattern.lastMatched = this.clock;
    return pattern;
  }

  /** `patternId` of these tokens, remembered for as many templates as the miner keeps (then forgotten all at once: bounded). */
  private idOf(tokens: string[]): string {
    const template = tokens.join(' ');
    let id = this.idOfTemplate.get(template);
    if (id === undefined) {
      if (this.idOfTemplate.size >= this.options.maxTemplates) this.idOfTemplate.clear();
      id = patternId(this.key, template);
      this.idOfTemplate.set(template, id);
    }
    return id;
  }

  /** Re-learns a stored template under its stored id (after a restart). */
  restore(id: string, template: string, count: number): LogPattern {
    const known = this.byId.get(id);
    if (known) return known;
    const tokens = template === '' ? [] : template.split(' ');
    const pattern = this.create(id, tokens, this.leaf(tokens), constantsOf(tokens), count);
    pattern.lastMatched = this.clock;
    return pattern;
  }

  /** Drops a template (its messages were erased): a later message like it starts a new one. */
  forget(id: string): LogPattern | undefined {
    const pattern = this.byId.get(id);
    if (!pattern) return undefined;
    this.remove(pattern);
    return pattern;
  }

  private create(id: string, tokens: string[], leaf: TreeNode, constants: string, count: number): MinedPattern {
    if (this.byId.size >= this.options.maxTemplates) this.evictLeastRecent();
    const pattern: MinedPattern = { id, tokens, count, lastMatched: 0, leaf, constants };
    leaf.patterns.push(pattern);
    this.byId.set(id, pattern);
    if (!this.byConstants.has(constants)) this.byConstants.set(constants, pattern);
    return pattern;
  }

  private remove(pattern: MinedPattern): void {
    this.byId.delete(pattern.id);
    pattern.leaf.patterns.splice(pattern.leaf.patterns.indexOf(pattern), 1);
    if (this.byConstants.get(pattern.constants) === pattern) this.byConstants.delete(pattern.constants);
  }

  /** Re-files a template whose constants changed (some became variables). */
  private indexConstants(pattern: MinedPattern): void {
    if (this.byConstants.get(pattern.constants) === pattern) this.byConstants.delete(pattern.constants);
    pattern.constants = constantsOf(pattern.tokens);
    if (!this.byConstants.has(pattern.constants)) this.byConstants.set(pattern.constants, pattern);
  }

  private leaf(tokens: string[]): TreeNode {
    let node: TreeNode | undefined = this.root.get(tokens.length);
    if (!node) {
      node = treeNode();
      this.root.set(tokens.length, node);
    }
    const depth = Math.min(this.options.prefixTokens, tokens.length);
    for (let i = 0; i < depth; i++) {
      const token = tokens[i];
      let child: TreeNode | undefined = node.children.get(token);
      if (!child) {
        child = node.children.get(wildcard);
        if (!child) {
          child = treeNode();
          node.children.set(node.children.size < this.options.maxChildren - 1 ? token : wildcard, child);
        } else if (node.children.size < this.options.maxChildren) {
          // A new constant keeps its own branch while there is room; the wildcard branch takes the rest.
          child = treeNode();
          node.children.set(token, child);
        }
      }
      node = child;
    }
    return node;
  }

  private bestMatch(candidates: MinedPattern[], tokens: string[]): MinedPattern | undefined {
    let best: MinedPattern | undefined;
    let bestSimilarity = -1;
    let bestWildcards = -1;
    for (const candidate of candidates) {
      let same = 0;
      let wildcards = 0;
      const template = candidate.tokens;
      let renamed = false;
      for (let i = 0; i < template.length; i++) {
        if (template[i] === wildcard) wildcards++;
        else if (template[i] === tokens[i]) {
          if (!isPartlyVariable(template[i])) same++;
        } else if (isPartlyVariable(template[i]) && isPartlyVariable(tokens[i])) renamed = true;
      }
      // Two named values under different names (`(uid=<*>` and `LOGIN(uid=<*>`) are different fields: another message.
      if (renamed) continue;
      // As in Drain, template wildcards count against similarity: a mostly-variable template attracts less.
      // So do named values (`pid=<*>`): they match anything, and would otherwise make two messages that
      // differ only in their constant words look alike.
      const similarity = template.length === 0 ? 1 : same / template.length;
      if (similarity > bestSimilarity || (similarity === bestSimilarity && wildcards > bestWildcards)) {
        best = candidate;
        bestSimilarity = similarity;
        bestWildcards = wildcards;
      }
    }
    return best && bestSimilarity >= this.options.similarity ? best : undefined;
  }

  private evictLeastRecent(): void {
    let oldest: MinedPattern | undefined;
    for (const pattern of this.byId.values()) if (!oldest || pattern.lastMatched < oldest.lastMatched) oldest = pattern;
    if (oldest) this.remove(oldest);
  }
}

/** A token with a masked part (`pid=<*>`); masking puts it last, so the last character tells. */
function isPartlyVariable(token: string): boolean {
  return token.charCodeAt(token.length - 1) === 62 && token.endsWith(wildcard);
}

/** Turns the positions where a message differs into wildcards; whether any constant did. */
function generalize(template: string[], tokens: string[]): boolean {
  let changed = false;
  for (let i = 0; i < template.length; i++) {
    if (template[i] !== tokens[i] && template[i] !== wildcard) {
      template[i] = wildcard;
      changed = true;
    }
  }
  return changed;
}

/** A template's constant tokens in order, its variables left out. */
function constantsOf(tokens: string[]): string {
  let constants = '';
  for (const token of tokens) if (token !== wildcard) constants += constants === '' ? token : ` ${token}`;
  return constants;
}
