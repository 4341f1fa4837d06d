// Browser test of the operator console in headless Chromium (playwright-core), run by
// cmd/opencpo's TestConsoleBrowser against a real serve with simulated stations.
// Env: CONSOLE_URL, OPS_EMAIL, VIEWER_EMAIL, PASSWORD, STATION (the id the test will see come
// online), ARTIFACTS (screenshot folder), CHROMIUM (executable), HAS_CHART and HAS_MAP ("1" when
// the bundles are built), ADMIN_EMAIL. Prints "READY" when the Go side should start the simulated stations.
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
  check(/\d+\.\d{2} EUR/.test(await page.textContent("#session-cost")), "the session's cost is shown: " + (await page.textContent("#session-cost")).trim());
  await shot("session");

  // CSV export of the filtered list.
  await page.goto(base + "/sessions?status=completed");
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#csv-export")]);
  const csvPath = path.join(artifacts, "sessions.csv");
  await download.saveAs(csvPath);
  const csv = fs.readFileSync(csvPath, "utf8");
  check(csv.startsWith("id,stationId,evseId") && csv.trim().split("\n").length > 1, "CSV export has a header and rows");
  check(csv.split("\n")[0].endsWith("costInclVat,costExclVat,currency,costFinal") && /,\d+\.\d{2},\d+\.\d{2},EUR,(true|false)\r?$/m.test(csv),
    "the CSV export has each session's cost");

  // A location is created, the station assigned to it, and both shown on the map page.
  await page.goto(base + "/locations");
  await page.fill("#l-name", "E2E Depot");
  await page.fill("#l-street", "Hafenstraße 1");
  await page.fill("#l-postal", "20457");
  await page.fill("#l-city", "Hamburg");
  await page.fill("#l-country", "DX");
  await page.fill("#l-lat", "53.5413");
  await page.fill("#l-lon", "9.9841");
  await page.fill("#l-tz", "Europe/Berlin");
  await page.click("text=Create location");
  await page.waitForSelector("#l-country-err");
  check(await page.inputValue("#l-name") === "E2E Depot", "a refused location keeps what was typed, the error next to the country");
  await page.fill("#l-country", "DE");
  await page.click("text=Create location");
  await page.waitForSelector("h1:has-text('Location E2E Depot')");
  const locationURL = page.url();
  await page.fill("#as-station", station);
  await page.click("button:has-text('Assign')");
  await page.waitForSelector(`#location-stations li[data-station="${station}"]`);
  check(true, `${station} assigned to the new location`);
  await shot("location");
  await page.goto(base + "/locations");
  const locID = locationURL.split("/locations/")[1];
  check(await page.isVisible(`#location-list tr[data-location="${locID}"]`), "the location is listed");
  if (process.env.HAS_MAP === "1") {
    await page.waitForSelector('#map[data-ready="1"]');
    check(await page.locator(`#map [data-location="${locID}"]`).count() === 1, "the location has its marker on the map");
    await page.locator(`#map [data-location="${locID}"]`).click();
    await page.waitForSelector(`.leaflet-popup a[href="/stations/${encodeURIComponent(station)}"]`);
    check(true, "the marker's popup lists the station");
    check(await page.isVisible(".leaflet-control-attribution >> text=OpenStreetMap"), "the map credits OpenStreetMap");
  } else {
    check(await page.isVisible("text=The map needs the front-end bundle"), "without the bundle, the map page says so and lists the locations");
  }
  await shot("locations");

  // An EVSE of the station is assigned to the location on its own, from the location's page.
  await page.goto(locationURL);
  await page.fill("#ae-station", station);
  await page.fill("#ae-evse", "99");
  await page.click("text=Assign EVSE here");
  await page.waitForSelector("#ae-evse-err");
  check(await page.inputValue("#ae-evse") === "99", "an unknown EVSE is refused next to its field, the typed number kept");
  await page.fill("#ae-evse", "1");
  await page.click("text=Assign EVSE here");
  await page.waitForSelector(`#location-stations li[data-evse="${station}/1"]:has-text("assigned on its own")`);
  check(true, "EVSE 1 is assigned to the location on its own");
  // The "remove" buttons are drawn as links in the page's link colour, not white on white.
  const removeColour = await page.locator(`#location-stations li[data-evse="${station}/1"] button.link`).evaluate((b) => getComputedStyle(b).color);
  check(removeColour !== "rgb(255, 255, 255)", `the EVSE's remove button can be seen (${removeColour})`);
  await shot("location-evse");

  // The station's OCPP message log shows its BootNotification, live: the page is open (filtered
  // by action) when the boot is triggered from elsewhere, and the rows appear without a reload.
  // (The log keeps a station's newest 200 frames; a busy simulated station soon pushes its first
  // boot out.)
  await page.goto(base + "/stations/" + encodeURIComponent(station));
  await page.click("#message-log-link");
  await page.fill("#m-action", "BootNotification");
  await page.click("button:has-text('Search')");
  await page.waitForSelector("#live-state.on");
  // The frames already listed: the station is busy enough that its first boot may leave the log
  // (the newest 200 frames) while we wait, so the new boot is told by its frames, not a count.
  const bootsBefore = await page.locator('#message-list tr[data-action="BootNotification"] code.frame').allTextContents();
  const triggered = await page.evaluate(async (id) => {
    const csrf = document.querySelector('input[name="csrf"]').value;
    const body = new URLSearchParams({ csrf, message: "BootNotification", evse: "0" });
    const r = await fetch("/stations/" + encodeURIComponent(id) + "/operations/trigger", { method: "POST", body });
    return (await r.text()).includes("TriggerMessage: Accepted");
  }, station);
  check(triggered, "a BootNotification is triggered");
  await page.waitForFunction((seen) => [...document.querySelectorAll('#message-list tr[data-action="BootNotification"] code.frame')]
    .filter((c) => !seen.includes(c.textContent)).length >= 2, bootsBefore, { timeout: 15000 });
  const bootRows = await page.locator("#message-list tbody tr").count();
  check(bootRows >= 2 && await page.locator('#message-list tr[data-action="BootNotification"]').count() === bootRows,
    `the message log shows the new BootNotification and its answer without a reload (${bootRows} rows)`);
  await shot("messages");

  // The location is deleted after the browser's confirmation; with a station assigned, the box
  // that unassigns it must be ticked first.
  await page.goto(locationURL);
  await page.getByRole("button", { name: "Delete location" }).click();
  await page.waitForSelector("#del-force-err");
  await page.check("#del-force");
  await page.getByRole("button", { name: "Delete location" }).click();
  await page.waitForSelector("text=Location E2E Depot deleted.");
  check(!(await page.isVisible(`#location-list tr[data-location="${locID}"]`)), "the location is deleted once the box is ticked");

  // The read-only catalogue pages: the tariff the sessions are priced with.
  await page.goto(base + "/tariffs");
  await page.click('#tariff-list a[href="/tariffs/E2E"]');
  check(await page.locator("#tariff-elements li[data-component]").count() > 0, "the tariff page lists its price components");
  await shot("tariff");

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

  // An admin creates an API token (its secret shown once, and working on the REST API), then
  // revokes it (refused from then on).
  await signIn(env("ADMIN_EMAIL"));
  await page.goto(base + "/api-tokens");
  await page.fill("#a-name", "e2e reporting");
  await page.selectOption("#a-role", "readonly");
  await page.click("text=Create API token");
  const secret = (await page.textContent("#secret-value")).trim();
  check(secret.startsWith("ocpo_"), "the new API token's secret is shown once");
  await shot("api-token-created");
  const apiStatus = (s) => page.evaluate(async (tok) => (await fetch("/api/v1/stations", { headers: { Authorization: "Bearer " + tok } })).status, s);
  check(await apiStatus(secret) === 200, "the new API token works on the REST API");
  await page.goto(base + "/api-tokens");
  check(!(await page.content()).includes(secret), "the secret is not shown again");
  await page.locator('tr[data-api-token="e2e reporting"] button:has-text("Revoke")').click();
  await page.waitForSelector('tr[data-api-token="e2e reporting"] td.state:has-text("revoked")');
  check(await apiStatus(secret) === 401, "the revoked API token is refused");
  await shot("api-tokens");
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForURL(/\/login/);

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
  check(!(await page.isVisible("#message-log-link")), "read-only sees no message log link");
  await shot("readonly-station");
} catch (err) {
  failed = true;
  console.error(err && err.stack || err);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
