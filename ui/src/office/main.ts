import { mount } from 'svelte';
import './office.css';
import Office from './Office.svelte';
import { locale } from './i18n/index.svelte';

document.documentElement.lang = locale();
const target = document.getElementById('office');
if (!target) throw new Error('#office missing from office.html');
export default mount(Office, { target });
