// Renders /api/openapi.json as a browsable reference. Plain DOM, no dependencies, so the
// page works on an installation with no internet access.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  };
  let doc = null;

  const refName = (ref) => ref.split("/").pop();
  function schemaText(schema, depth) {
    depth = depth || 0;
    if (!schema) return "";
    if (schema.$ref) {
      const name = refName(schema.$ref);
      const target = doc.components && doc.components.schemas && doc.components.schemas[name];
      return depth > 2 || !target ? name : schemaText(target, depth + 1);
    }
    if (schema.allOf || schema.oneOf || schema.anyOf) {
      const list = schema.allOf || schema.oneOf || schema.anyOf;
      return list.map((s) => schemaText(s, depth + 1)).join(" | ");
    }
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    const type = Array.isArray(schema.type) ? schema.type.filter((t) => t !== "null").join("|") + (schema.type.includes("null") ? "?" : "") : schema.type;
    if (type && type.startsWith("array")) return "[" + schemaText(schema.items, depth + 1) + "]";
    if (schema.properties) {
      const pad = "  ".repeat(depth + 1);
      const req = new Set(schema.required || []);
      const lines = Object.entries(schema.properties).map(
        ([k, v]) => pad + k + (req.has(k) ? "" : "?") + ": " + schemaText(v, depth + 1) + (v.description ? "  // " + v.description.split("\n")[0] : "")
      );
      return "{\n" + lines.join("\n") + "\n" + "  ".repeat(depth) + "}";
    }
    return (type || "any") + (schema.format ? " (" + schema.format + ")" : "");
  }

  function operation(method, path, op) {
    const body = el("div", {});
    if (op.description) body.append(el("p", {}, op.description));
    const params = op.parameters || [];
    if (params.length) {
      const table = el("table", {}, el("tr", {}, el("th", {}, "parameter"), el("th", {}, "in"), el("th", {}, "type"), el("th", {}, "")));
      for (const p of params)
        table.append(el("tr", {}, el("td", {}, el("code", {}, p.name)), el("td", {}, p.in), el("td", {}, schemaText(p.schema)), el("td", { class: "mute" }, p.description || "")));
      body.append(el("h4", {}, "Parameters"), table);
    }
    const rb = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    if (rb) body.append(el("h4", {}, "Request body"), el("pre", {}, schemaText(rb.schema)));
    body.append(el("h4", {}, "Responses"));
    for (const [status, resp] of Object.entries(op.responses || {})) {
      const content = resp.content && Object.values(resp.content)[0];
      body.append(el("p", {}, el("code", {}, status), " ", resp.description || ""));
      if (content && content.schema) body.append(el("pre", {}, schemaText(content.schema)));
    }
    return el("details", { "data-search": (method + " " + path + " " + (op.summary || "")).toLowerCase() },
      el("summary", {}, el("span", { class: "m " + method }, method), el("code", {}, path), " ", el("span", { class: "mute" }, op.summary || "")), body);
  }

  function render() {
    $("title").textContent = doc.info.title + " " + doc.info.version;
    $("desc").textContent = doc.info.description || "";
    const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of ["get", "post", "put", "patch", "delete"]) {
        const op = item[method];
        if (!op) continue;
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push(operation(method, path, op));
      }
    }
    const search = el("input", { type: "search", placeholder: "Filter routes", "aria-label": "Filter routes" });
    search.addEventListener("input", () => {
      const q = search.value.toLowerCase();
      for (const d of document.querySelectorAll("details[data-search]")) d.hidden = q && !d.dataset.search.includes(q);
    });
    $("nav").append(search);
    for (const [tag, ops] of byTag) {
      if (!ops.length) continue;
      const info = (doc.tags || []).find((t) => t.name === tag);
      $("nav").append(el("a", { href: "#tag-" + tag }, tag));
      $("ops").append(el("h2", { id: "tag-" + tag }, tag), el("p", { class: "mute" }, (info && info.description) || ""), ...ops);
    }
  }

  fetch("/api/openapi.json")
    .then((r) => r.json())
    .then((d) => { doc = d; render(); })
    .catch((e) => { $("desc").textContent = "Could not load /api/openapi.json: " + e; });
})();
