import type { PageDefinition } from '../shell/page';
import { ExplorePage } from './explore/ExplorePage';
import { TailPage } from './TailPage';
import { TracePage } from './TracePage';

/**
 * Every page of the UI, in navigation order. To add one: write its
 * component under pages/, then add a line here — the shell derives the
 * route, the nav link, the `g` shortcut and the role check from it.
 */
export const pages: PageDefinition[] = [
  { id: 'explore', title: 'Explore', path: '/ui/explore', permission: 'query', nav: true, shortcut: 'e', component: ExplorePage },
  { id: 'tail', title: 'Live tail', path: '/ui/tail', permission: 'query', nav: true, shortcut: 't', component: TailPage },
  { id: 'trace', title: 'Trace', path: '/ui/trace/:traceId', permission: 'query', nav: false, component: TracePage },
];
