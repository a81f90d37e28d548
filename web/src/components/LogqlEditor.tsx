import { useEffect, useRef, useState } from 'preact/hooks';
import { labelNames, labelValues } from '../api/loki';
import { completionContext, offsetOf, parseErrorPosition, tokenize, type CompletionContext } from './logqlTokens';

interface Props {
  value: string;
  onChange: (value: string) => void;
  /** Enter (without Shift) runs the query. */
  onRun: () => void;
  /** The server's parse error for the last run, shown under the editor and marked in the text. */
  error?: string;
  range: { startMs: number; endMs: number };
}

/** Highlighted text: a <pre> drawn under a transparent <textarea> that takes the typing. */
function Highlight({ source, errorAt }: { source: string; errorAt: number | undefined }) {
  return (
    <pre aria-hidden="true">
      {tokenize(source).map((token) => {
        const isError = errorAt !== undefined && errorAt >= token.start && errorAt < token.start + Math.max(token.text.length, 1);
        return (
          <span key={token.start} class={`${token.kind === 'text' ? '' : `tok-${token.kind}`}${isError ? ' tok-error' : ''}`}>
            {token.text}
          </span>
        );
      })}
      {errorAt !== undefined && errorAt >= source.length && <span class="tok-error"> </span>}
      {'\n'}
    </pre>
  );
}

/** LogQL editor: syntax colours, label and value completion from the Loki API, inline parse errors. */
export function LogqlEditor({ value, onChange, onRun, error, range }: Props) {
  const textarea = useRef<HTMLTextAreaElement>(null);
  const [context, setContext] = useState<CompletionContext>(undefined);
  const [options, setOptions] = useState<string[]>([]);
  const [selected, setSelected] = useState(0);
  const cache = useRef(new Map<string, Promise<string[]>>());

  const position = error ? parseErrorPosition(error) : undefined;
  const errorAt = position ? offsetOf(value, position.line, position.column) : undefined;

  // `/` anywhere focuses the query.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement;
      if (event.key === '/' && !['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName)) {
        event.preventDefault();
        textarea.current?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const candidates = (ctx: NonNullable<CompletionContext>): Promise<string[]> => {
    const key = ctx.kind === 'label' ? '\u0000labels' : ctx.label;
    let pending = cache.current.get(key);
    if (!pending) {
      pending = (ctx.kind === 'label' ? labelNames(range.startMs, range.endMs) : labelValues(ctx.label, range.startMs, range.endMs)).catch(
        () => [],
      );
      cache.current.set(key, pending);
    }
    return pending;
  };
  useEffect(() => cache.current.clear(), [range.startMs, range.endMs]);

  const refresh = (text: string, cursor: number) => {
    const ctx = completionContext(text.slice(0, cursor));
    setContext(ctx);
    if (!ctx) return setOptions([]);
    void candidates(ctx).then((all) => {
      const prefix = ctx.prefix.toLowerCase();
      setOptions(all.filter((option) => option.toLowerCase().startsWith(prefix) && option !== ctx.prefix).slice(0, 50));
      setSelected(0);
    });
  };

  const accept = (option: string) => {
    const element = textarea.current;
    if (!element || !context) return;
    const cursor = element.selectionStart;
    const start = cursor - context.prefix.length;
    const insert = context.kind === 'label' ? `${option}="` : `${JSON.stringify(option).slice(1, -1)}"`;
    const next = value.slice(0, start) + insert + value.slice(cursor);
    onChange(next);
    const caret = start + insert.length;
    requestAnimationFrame(() => {
      element.setSelectionRange(caret, caret);
      refresh(next, caret);
    });
  };

  const onKeyDown = (event: KeyboardEvent) => {
    const open = options.length > 0;
    if (open && (event.key === 'ArrowDown' || event.key === 'ArrowUp')) {
      event.preventDefault();
      setSelected((index) => (index + (event.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length);
    } else if (open && (event.key === 'Tab' || (event.key === 'Enter' && !event.shiftKey))) {
      event.preventDefault();
      accept(options[selected]);
    } else if (open && event.key === 'Escape') {
      event.stopPropagation();
      setOptions([]);
    } else if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      setOptions([]);
      onRun();
    }
  };

  const rows = Math.min(Math.max(value.split('\n').length, 1), 8);
  return (
    <div class={`editor${error ? ' invalid' : ''}`}>
      <div class="editor-input">
        <Highlight source={value} errorAt={errorAt} />
        <textarea
          ref={textarea}
          class="code"
          rows={rows}
          spellcheck={false}
          aria-label="LogQL query"
          aria-invalid={error ? 'true' : 'false'}
          aria-autocomplete="list"
          aria-expanded={options.length > 0}
          value={value}
          onInput={(event) => {
            const element = event.currentTarget;
            onChange(element.value);
            refresh(element.value, element.selectionStart);
          }}
          onClick={(event) => refresh(value, event.currentTarget.selectionStart)}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setOptions([]), 150)}
        />
        {options.length > 0 && (
          <ul class="completions" role="listbox" aria-label={context?.kind === 'label' ? 'labels' : 'values'}>
            {options.map((option, index) => (
              <li
                key={option}
                role="option"
                aria-selected={index === selected}
                onMouseDown={(event) => (event.preventDefault(), accept(option))}
              >
                {option}
              </li>
            ))}
          </ul>
        )}
      </div>
      {error && (
        <p class="parse-error error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
