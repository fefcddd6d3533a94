import { html, type Html } from "./html";
import type { User } from "./auth/store";
import { CSRF_FIELD } from "./auth/cookies";
import type { Role } from "./auth/roles";

export const ASSETS = { htmx: "/assets/htmx-2.0.11.min.js", css: "/assets/console.css" };

const NAV: { href: string; label: string; roles?: readonly Role[] }[] = [
  { href: "/", label: "Today" },
  { href: "/imports", label: "Imports" },
  { href: "/reports", label: "Reports" },
  { href: "/sql", label: "SQL" },
  { href: "/leads", label: "Leads" },
  { href: "/compliance", label: "Compliance" },
  { href: "/people", label: "People" },
  { href: "/audiences", label: "Audiences", roles: ["marketer"] },
  { href: "/audit", label: "Audit", roles: ["ops", "steward", "admin"] },
  { href: "/users", label: "Users", roles: ["admin"] },
];

export interface PageContext {
  user: User;
  csrf: string;
  path: string;
}

/** The page shell. htmx sends the CSRF token as a header on every request it makes (hx-headers). */
export function page(ctx: PageContext, title: string, body: Html): string {
  const current = (href: string) =>
    href === "/" ? ctx.path === "/" : ctx.path === href || ctx.path.startsWith(href + "/");
  return (
    "<!doctype html>" +
    html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · leadpipe</title>
<link rel="stylesheet" href="${ASSETS.css}">
<script src="${ASSETS.htmx}" defer></script>
</head>
<body hx-headers='${JSON.stringify({ "x-csrf-token": ctx.csrf })}'>
<header><a class="brand" href="/">leadpipe</a>
<nav>${NAV.filter((n) => !n.roles || n.roles.includes(ctx.user.role)).map(
      (n) => html`<a href="${n.href}"${current(n.href) ? html` aria-current="page"` : ""}>${n.label}</a> `,
    )}</nav>
<span class="who"><span>${ctx.user.username} (${ctx.user.role})</span>
<form class="inline" method="post" action="/logout">${csrfField(ctx.csrf)}<button class="secondary" type="submit">Log out</button></form></span>
</header>
<main><h1>${title}</h1>
${body}</main></body></html>`.text
  );
}

export const csrfField = (token: string) => html`<input type="hidden" name="${CSRF_FIELD}" value="${token}">`;

export function loginPage(csrf: string, message?: string, next = "/"): string {
  return (
    "<!doctype html>" +
    html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · leadpipe</title><link rel="stylesheet" href="${ASSETS.css}"></head>
<body><div class="login"><h1>leadpipe console</h1>
${message ? html`<p class="notice error" role="alert">${message}</p>` : ""}
<form class="stack" method="post" action="/login">${csrfField(csrf)}<input type="hidden" name="next" value="${next}">
<label>User name <input name="username" autocomplete="username" required autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form></div></body></html>`.text
  );
}

export function errorPage(ctx: PageContext | undefined, status: number, message: string): string {
  const body = html`<p class="notice error" role="alert">${message}</p><p><a href="/">Back to today</a></p>`;
  if (ctx) return page(ctx, status === 403 ? "Not allowed" : status === 404 ? "Not found" : "Error", body);
  return (
    "<!doctype html>" +
    html`<html lang="en"><head><meta charset="utf-8"><title>${String(status)}</title>
<link rel="stylesheet" href="${ASSETS.css}"></head><body><main>${body}</main></body></html>`.text
  );
}
