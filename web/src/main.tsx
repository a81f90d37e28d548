import { render } from 'preact';
import { App } from './shell/App';
import { applyTheme, initialTheme } from './shell/theme';
import './styles.css';

applyTheme(initialTheme());
render(<App />, document.getElementById('app')!);
