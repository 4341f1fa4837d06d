// Browser test of the operator console in headless Chromium (playwright-core), run by
// cmd/opencpo's TestConsoleBrowser against a real serve with simulated stations.
// Env: CONSOLE_URL, OPS_EMAIL, VIEWER_EMAIL, PASSWORD, STATION (the id the test will see come
// online), ARTIFACTS (screenshot folder), CHROMIUM (executable), HAS_CHART ("1" when the bundle
// is built). Prints "READY" when the Go side should start the simulated stations.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const env = (k) => { const v = process.env[k]; if (!v) { throw new Error(`${k} is not set`); } return v; };
const base = env("CONSOLE_URL"), password = env("PASSWORD"), station = env("STATION");
const artifacts = env("ARTIFACTS");
fs.mkdirSync(artifacts, { recursive: true });

function check(cond, what) { if (!cond) { throw new Error("check failed: " + what); } console.log("ok -", what); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(30000);
  page.on("dialog", (d) => d.accept()); // confirm every command
  const shot = (name) => page.screenshot({ path: path.join(artifacts, name + ".png"), fullPage: true });

  async function signIn(email) {
    await page.goto(base + "/");
    check(page.url().includes("/login"), "an anonymous visit lands on the sign-in page");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForSelector("h1:has-text('Dashboard')");
  }

  // A wrong password is refused and the email stays typed.
  await page.goto(base + "/login");
  await page.getByLabel("Email").fill(env("OPS_EMAIL"));
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("#login-error");
  check(await page.getByLabel("Email").inputValue() === env("OPS_EMAIL"), "a failed sign-in keeps the email");
  await shot("login");

  await signIn(env("OPS_EMAIL"));
  check(true, "operator signed in");

  // A station comes online while we watch, without reloading the page.
  await page.goto(base + "/stations");
  await page.waitForSelector("#live-state.on");
  await page.evaluate(() => { window.__stillHere = true; });
  console.log("READY");
  await page.waitForSelector(`#station-list tr[data-station="${station}"] .s-online`, { timeout: 45000 });
  check(await page.evaluate(() => window.__stillHere === true), `${station} appeared online live, without a reload`);
  await shot("stations");

  await page.goto(base + "/");
  await page.waitForSelector("#feed li:not(.empty)", { timeout: 45000 });
  check(true, "the dashboard's live feed shows events");
  await shot("dashboard");

  // A remote reset, confirmed, with the station's answer shown.
  await page.goto(base + "/stations/" + encodeURIComponent(station));
  await page.waitForSelector("#station-status.s-online");
  await page.selectOption("#reset-type", { index: 0 });
  await page.click("#do-reset");
  const result = await page.waitForSelector("#op-result");
  const text = await result.textContent();
  check(/Reset: (Accepted|Scheduled)/.test(text), `remote reset answered: ${text.trim()}`);
  await shot("station");

  // A completed session: its page with the power / energy chart.
  let sessionHref = null;
  for (let i = 0; i < 90 && !sessionHref; i++) {
    await page.goto(base + "/sessions?status=completed");
    sessionHref = await page.evaluate(() => {
      const row = Array.from(document.querySelectorAll("#session-list tbody tr")).find((tr) => {
        const kwh = tr.querySelector("td.num");
        return kwh && parseFloat(kwh.textContent) > 0;
      });
      return row ? row.querySelector("th a").getAttribute("href") : null;
    });
    if (!sessionHref) { await page.waitForTimeout(1000); }
  }
  check(sessionHref, "a completed session with energy is listed");
  await shot("sessions");
  await page.goto(base + sessionHref);
  if (process.env.HAS_CHART === "1") {
    await page.waitForSelector("#chart[data-drawn] canvas");
    check(true, "the session's power / energy chart is drawn");
  } else {
    check(await page.isVisible("text=The chart needs the front-end bundle"), "without the bundle, the session page says so");
  }
  await shot("session");

  // CSV export of the filtered list.
  await page.goto(base + "/sessions?status=completed");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv-export")]);
  const csvPath = path.join(artifacts, "sessions.csv");
  await download.saveAs(csvPath);
  const csv = fs.readFileSync(csvPath, "utf8");
  check(csv.startsWith("id,stationId,evseId") && csv.trim().split("\n").length > 1, "CSV export has a header and rows");

  await page.goto(base + "/tokens");
  await shot("tokens");
  // A token form with a mistake keeps what was typed.
  await page.fill("#t-uid", "E2E-TOKEN");
  await page.fill("#t-exp", "31/12/2030");
  await page.click("text=Create token");
  await page.waitForSelector("#t-exp-err");
  check(await page.inputValue("#t-uid") === "E2E-TOKEN", "a failed token form keeps the uid and shows the error next to the expiry");

  // Tablet width: the layout still works (no horizontal scroll of the page).
  await page.setViewportSize({ width: 768, height: 1024 });
  await page.goto(base + "/stations/" + encodeURIComponent(station));
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 1, `the station page fits a tablet (overflow ${overflow}px)`);
  await shot("station-tablet");
  await page.setViewportSize({ width: 1280, height: 800 });

  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login/);
  check(true, "signed out");

  // A read-only user sees the station but may not act on it.
  await signIn(env("VIEWER_EMAIL"));
  await page.goto(base + "/stations/" + encodeURIComponent(station));
  check(!(await page.isVisible("#do-reset")), "read-only sees no reset button");
  const status = await page.evaluate(async (id) => {
    const csrf = document.body.getAttribute("data-csrf");
    const r = await fetch("/stations/" + encodeURIComponent(id) + "/operations/reset", {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ csrf, type: "Soft" }),
    });
    return r.status;
  }, station);
  check(status === 403, `read-only reset refused with ${status}`);
  await shot("readonly-station");
} catch (err) {
  failed = true;
  console.error(err && err.stack || err);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
