import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { locale } from "./i18n/locale.svelte";

document.documentElement.setAttribute("lang", locale.current);
const target = document.getElementById("app");
if (!target) throw new Error("index.html has no #app element");
mount(App, { target });
