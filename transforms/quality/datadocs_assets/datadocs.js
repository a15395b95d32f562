/* The Data Docs of a quality gate, offline: the few jQuery and bootstrap-table calls that
   Great Expectations' pages make, written for this project (no library is fetched). It
   renders the index's tables from their data, follows a row's link when clicked, and runs
   the "Failed Only" filter of a validation page. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function select(selector) {
    try {
      return Array.prototype.slice.call(document.querySelectorAll(selector));
    } catch (e) {
      return [];  // a selector the browser rejects matches nothing
    }
  }

  function Nodes(nodes) { this.nodes = nodes; }

  Nodes.prototype.ready = function (fn) { ready(fn); return this; };
  Nodes.prototype.each = function (fn) {
    this.nodes.forEach(function (node, i) { fn(i, node); });
    return this;
  };
  Nodes.prototype.parent = function () {
    return new Nodes(this.nodes.map(function (n) { return n.parentElement; }).filter(Boolean));
  };
  Nodes.prototype.fadeIn = function () {
    this.nodes.forEach(function (n) { n.style.display = ""; });
    return this;
  };
  Nodes.prototype.fadeOut = function () {
    this.nodes.forEach(function (n) { n.style.display = "none"; });
    return this;
  };
  Nodes.prototype.data = function (key) {
    return this.nodes.length ? this.nodes[0].getAttribute("data-" + key) : undefined;
  };
  Nodes.prototype.on = function (event, handler) {
    var name = event.split(".")[0];
    this.nodes.forEach(function (node) {
      if (name !== "click-row") { node.addEventListener(name, handler); return; }
      node.addEventListener("click", function (e) {
        var row = e.target.closest("tbody tr");
        if (row && !e.target.closest("a")) handler(e, row.cdiscRow, new Nodes([row]));
      });
    });
    return this;
  };
  Nodes.prototype.bootstrapTable = function (options) {
    if (options && typeof options === "object") {
      this.nodes.forEach(function (table) { render(table, options); });
    }
    return this;  // the table's methods (clear filters, reset search): nothing to do
  };

  function named(options, key) {
    var value = options[key];
    return typeof value === "string" ? window[value] : value;
  }

  function sortKey(options) {
    var columns = options.columns || [];
    for (var i = 0; i < columns.length; i++) {
      if (columns[i].field === options.sortName) return columns[i].sortName || columns[i].field;
    }
    return options.sortName;
  }

  function render(table, options) {
    var columns = options.columns || [];
    var rows = (options.data || []).slice();
    var key = sortKey(options);
    if (key) {
      rows.sort(function (a, b) { return String(a[key]).localeCompare(String(b[key])); });
      if (options.sortOrder === "desc") rows.reverse();
    }
    var attributes = named(options, "rowAttributes");
    var head = document.createElement("thead");
    var tr = head.insertRow();
    columns.forEach(function (c) {
      var th = document.createElement("th");
      th.textContent = c.title || "";
      tr.appendChild(th);
    });
    var body = document.createElement("tbody");
    rows.forEach(function (row, i) {
      var line = body.insertRow();
      line.cdiscRow = row;
      var extra = attributes ? attributes(row, i) : {};
      Object.keys(extra).forEach(function (a) { line.setAttribute(a, extra[a]); });
      columns.forEach(function (c) {
        line.insertCell().innerHTML = row[c.field] == null ? "" : String(row[c.field]);
      });
    });
    table.textContent = "";
    table.classList.add("table", "table-bordered");
    table.appendChild(head);
    table.appendChild(body);
  }

  window.$ = window.jQuery = function (what) {
    if (typeof what === "function") { ready(what); return undefined; }
    if (what === document || what instanceof Element) return new Nodes([what]);
    return new Nodes(select(what));
  };
})();
