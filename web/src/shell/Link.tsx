import type { ComponentChildren } from 'preact';
import { navigate } from './router';
import { withTenant } from './tenant';

interface Props {
  href: string;
  children: ComponentChildren;
  class?: string;
  title?: string;
  'aria-current'?: 'page';
  /** Runs before navigation (e.g. to stop a row behind the link from reacting). */
  onClick?: (event: MouseEvent) => void;
}

/** An in-app link: a real <a> (middle-click and copy work), navigated without a reload. */
export function Link({ href, children, onClick, ...rest }: Props) {
  const follow = (event: MouseEvent) => {
    onClick?.(event);
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return (
    <a href={withTenant(href)} onClick={follow} {...rest}>
      {children}
    </a>
  );
}
