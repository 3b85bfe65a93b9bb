/**
 * The kv-acme dashboard: a hash-routed single page over the app's own HTTP API. Who is signed in and their roles
 * come from /.auth/me (App Service Authentication; the local host answers it for the local principal); buttons the
 * roles do not allow are not shown, and the API enforces the same roles anyway.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ROLES } from "../../src/api/roles";
import { exists } from "./api";
import { useLoad, useRoute } from "./hooks";
import { rolesFromAuthMe } from "./model";
import { AccountPage } from "./pages/account";
import { CertificatePage } from "./pages/certificate";
import { CertificatesPage } from "./pages/certificates";
import { FleetPage } from "./pages/fleet";
import { IssuePage } from "./pages/issue";
import { RenewalsPage } from "./pages/renewals";
import { ZonesPage } from "./pages/zones";
import { type Session, SessionContext } from "./session";
import "./styles.css";

type Theme = "system" | "light" | "dark";
const THEME_KEY = "kv-acme-theme";

function applyTheme(theme: Theme): void {
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

async function loadSession(): Promise<Session> {
  const [me, fleet, account] = await Promise.all([
    fetch("/.auth/me", { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(async (r) => (r.ok ? rolesFromAuthMe(await r.json()) : undefined))
      .catch(() => undefined),
    exists("/api/fleet").catch(() => false),
    exists("/api/account").catch(() => false),
  ]);
  return { user: me, features: { fleet, account } };
}

function Nav({ session, current }: { session: Session; current: string }) {
  const canIssue = session.user?.roles.includes(ROLES.issue) ?? false;
  const links: [string, string, boolean][] = [
    ["certificates", "Certificates", true],
    ["issue", "Issue", canIssue],
    ["renewals", "Renewals", true],
    ["zones", "DNS zones", true],
    ["fleet", "Fleet", session.features.fleet],
    ["account", "Account", session.features.account],
  ];
  return (
    <nav aria-label="Main">
      <ul>
        {links
          .filter(([, , shown]) => shown)
          .map(([id, label]) => (
            <li key={id}>
              <a href={`#/${id}`} aria-current={current === id ? "page" : undefined}>
                {label}
              </a>
            </li>
          ))}
      </ul>
    </nav>
  );
}

function ThemeSwitch() {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem(THEME_KEY) as Theme | null) ?? "system");
  useEffect(() => {
    applyTheme(theme);
    if (theme === "system") localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, theme);
  }, [theme]);
  return (
    <label class="theme">
      Theme{" "}
      <select
        value={theme}
        onChange={(e) => {
          const next = (e.currentTarget as HTMLSelectElement).value as Theme;
          applyTheme(next);
          setTheme(next);
        }}
      >
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}

function Page({ route }: { route: string[] }) {
  const [page, arg, second] = route;
  switch (page) {
    case "certificates":
      // #/certificates/N in the default vault, #/certificates/V/N in vault V.
      if (second) return <CertificatePage key={`${arg}/${second}`} name={second} vault={arg} />;
      return arg ? <CertificatePage key={arg} name={arg} /> : <CertificatesPage />;
    case "issue":
      return <IssuePage />;
    case "renewals":
      return <RenewalsPage />;
    case "zones":
      return <ZonesPage />;
    case "fleet":
      return <FleetPage />;
    case "account":
      return <AccountPage />;
    default:
      return (
        <main id="main">
          <h1>Not found</h1>
          <p>
            There is no page <code>{route.join("/")}</code>. <a href="#/certificates">Certificates</a>
          </p>
        </main>
      );
  }
}

function App() {
  const route = useRoute();
  const session = useLoad(loadSession, "session");
  useEffect(() => {
    document.getElementById("main")?.focus();
  }, [route.join("/")]);
  if (!session.data) return <p class="loading">Loading…</p>;
  const user = session.data.user;
  return (
    <SessionContext.Provider value={session.data}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <header>
        <span class="brand">kv-acme</span>
        <Nav session={session.data} current={route[0] ?? "certificates"} />
        <span class="who">
          {user ? (
            <>
              <span data-testid="user">{user.name}</span>{" "}
              <small>{user.roles.map((r) => r.replace("KvAcme.", "")).join(" · ") || "no roles"}</small>
            </>
          ) : (
            <span>not signed in</span>
          )}
        </span>
        <ThemeSwitch />
      </header>
      {user ? null : (
        <p class="banner" role="status">
          No signed-in user: /.auth/me has no identity. In Azure, enable App Service Authentication on the Function App and sign in; the API
          refuses user calls until then.
        </p>
      )}
      <Page route={route} />
    </SessionContext.Provider>
  );
}

applyTheme((localStorage.getItem(THEME_KEY) as Theme | null) ?? "system");
render(<App />, document.getElementById("app")!);
