import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { locale } from "./i18n/locale.svelte";
import { listenForJoinLinks } from "./lib/links.svelte";

document.documentElement.setAttribute("lang", locale.current);
const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");
listenForJoinLinks(window as unknown as Parameters<typeof listenForJoinLinks>[0]);
mount(App, { target });
