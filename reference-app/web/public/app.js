// The operator's dashboard: lists the machines with their latest reading and the recent alerts, refreshed live
// by polling the api through the web server (same origin). Every value is set with textContent, never as HTML.

const params = new URLSearchParams(location.search);
const refreshMs = Math.max(500, Number(params.get("refresh")) || 2000);
const knownFarms = new Set();

const $ = (id) => document.getElementById(id);

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text ?? "—";
  if (className) td.className = className;
  return td;
}

const number = (value, digits = 1) =>
  value === null || value === undefined ? "—" : Number(value).toFixed(digits);

function age(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  return new Date(iso).toLocaleString();
}

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body?.error?.message ?? `${path}: HTTP ${response.status}`);
  $("api-version").textContent = response.headers.get("x-api-version") ?? "";
  $("web-version").textContent = response.headers.get("x-app-version") ?? "";
  return body;
}

function renderEquipment(equipment) {
  const rows = equipment.map((machine) => {
    const latest = machine.latest;
    const tr = document.createElement("tr");
    tr.dataset.testid = "equipment-row";
    tr.dataset.equipmentId = machine.id;
    const name = cell(machine.name, "name");
    const id = document.createElement("small");
    id.textContent = machine.id;
    name.append(document.createElement("br"), id);
    const state = latest?.runState ?? "no data";
    const temp = latest?.motorTempC;
    tr.append(
      name,
      cell(machine.farmId ?? "unassigned"),
      cell(machine.type),
      cell(state, `state state-${state.replace(/\s/g, "-")}`),
      cell(number(temp), temp >= 100 ? "critical" : temp >= 85 ? "warning" : "metric"),
      cell(number(latest?.motorCurrentA)),
      cell(number(latest?.rpm, 0)),
      cell(number(latest?.loadKg, 0)),
      cell(number(latest?.hoursMeter, 1)),
      cell(number(latest?.rssi, 0)),
      cell(age(latest?.ts), "age"),
      cell(String(machine.alertsLast24h ?? 0), machine.alertsLast24h > 0 ? "warning" : ""),
    );
    tr.children[4].dataset.testid = "motor-temp";
    return tr;
  });
  $("equipment").replaceChildren(...rows);
  $("empty").hidden = equipment.length > 0;
  const running = equipment.filter((machine) => machine.latest?.runState === "running").length;
  $("summary").textContent = `${equipment.length} machines · ${running} running`;
  for (const machine of equipment) {
    if (machine.farmId && !knownFarms.has(machine.farmId)) {
      knownFarms.add(machine.farmId);
      const option = document.createElement("option");
      option.value = machine.farmId;
      option.textContent = machine.farmId;
      $("farm").append(option);
    }
  }
}

function renderAlerts(alerts) {
  const items = alerts.map((alert) => {
    const li = document.createElement("li");
    li.className = alert.severity;
    li.dataset.testid = "alert";
    const when = document.createElement("time");
    when.dateTime = alert.ts;
    when.textContent = new Date(alert.ts).toLocaleTimeString();
    li.append(when, ` ${alert.equipmentId}: ${alert.message}`);
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement("li");
    li.textContent = "No alerts.";
    items.push(li);
  }
  $("alerts").replaceChildren(...items);
}

let timer;
async function refresh() {
  clearTimeout(timer);
  const query = new URLSearchParams();
  if ($("farm").value) query.set("farmId", $("farm").value);
  if ($("type").value) query.set("type", $("type").value);
  const suffix = query.size > 0 ? `?${query}` : "";
  try {
    const alertQuery = new URLSearchParams({ limit: "15" });
    if ($("farm").value) alertQuery.set("farmId", $("farm").value);
    const [list, alerts] = await Promise.all([
      getJson(`/api/equipment${suffix}`),
      getJson(`/api/alerts?${alertQuery}`),
    ]);
    renderEquipment(list.equipment);
    renderAlerts(alerts.alerts);
    $("status").textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
    $("status").className = "status ok";
  } catch (error) {
    $("status").textContent = `Cannot reach the api: ${error.message}`;
    $("status").className = "status error";
  } finally {
    timer = setTimeout(refresh, refreshMs);
  }
}

$("farm").addEventListener("change", refresh);
$("type").addEventListener("change", refresh);
refresh();
