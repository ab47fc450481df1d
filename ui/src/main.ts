import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { followAppearance } from './lib/theme';

followAppearance();

mount(App, { target: document.getElementById('app')! });
