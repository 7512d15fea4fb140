import { mount } from 'svelte';
import './styles/app.css';
import App from './App.svelte';
import { locale } from './i18n/index.svelte';

document.documentElement.lang = locale();
const target = document.getElementById('app');
if (!target) throw new Error('#app missing from index.html');
export default mount(App, { target });
