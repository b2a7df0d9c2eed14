/* The rules editor: CodeMirror with YAML highlighting, checked as you type, plus the
   simulate and backtest panels. Every POST carries the session's CSRF token. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var textarea = document.getElementById("yaml");
  var problems = document.getElementById("problems");

  function post(url, body, isJson) {
    var headers = {"X-CSRF-Token": csrf};
    if (isJson) headers["Content-Type"] = "application/json";
    return fetch(url, {method: "POST", headers: headers, body: body, credentials: "same-origin"});
  }

  var publish = document.getElementById("publish");

  function showProblems(errors) {
    if (publish) {  // nothing with errors can be published: say why beside the button
      publish.disabled = errors.length > 0;
      publish.title = errors.length ? "Fix the problems listed above the note first." : "";
    }
    problems.textContent = "";
    if (!errors.length) {
      var ok = document.createElement("p");
      ok.className = "ok";
      ok.textContent = "Valid: ready to simulate, backtest or publish.";
      problems.appendChild(ok);
      return;
    }
    var list = document.createElement("ul");
    list.className = "problems";
    errors.forEach(function (error) {
      var item = document.createElement("li");
      item.className = "error";
      item.dataset.line = error.line || "";
      var where = error.line ? "Line " + error.line + (error.column ? ", column " + error.column : "") + ": " : "";
      item.textContent = where + (error.path ? error.path + ": " : "") + error.message;
      if (error.line) {
        item.tabIndex = 0;
        item.addEventListener("click", function () { jumpTo(error.line, error.column); });
      }
      list.appendChild(item);
    });
    problems.appendChild(list);
  }

  var changes = document.getElementById("changes");
  var impactTimer = null, impactFor = null;

  /* What the edit changes in the active program, in words, and, once typing pauses, its impact: the
     last 30 days replayed through it (the backtest, computed on its own). */
  function showChanges(lines, valid, text) {
    if (!changes) return;
    var heading = changes.querySelector("h2");
    changes.textContent = "";
    changes.appendChild(heading);
    var said = document.createElement(lines.length ? "ul" : "p");
    if (!lines.length) {
      said.className = "muted";
      said.textContent = valid ? "Nothing yet: the editor holds the active version." : "Fix the problems first.";
    }
    lines.forEach(function (line) {
      var item = document.createElement("li");
      item.textContent = line;
      said.appendChild(item);
    });
    changes.appendChild(said);
    clearTimeout(impactTimer);
    if (!valid || !lines.length) { impactFor = null; return; }
    var impact = document.createElement("div");
    impact.className = "impact";
    impact.dataset.testid = "impact";
    impact.textContent = "Working out the impact on the last 30 days…";
    changes.appendChild(impact);
    impactTimer = setTimeout(function () {
      impactFor = text;
      var data = new FormData();
      data.append("yaml", text);
      data.append("from", changes.dataset.from);
      data.append("to", changes.dataset.to);
      post(changes.dataset.impactUrl, data, false)
        .then(function (response) { return response.text(); })
        .then(function (html) { if (impactFor === text) impact.innerHTML = html; })  /* escaped by Jinja */
        .catch(function () { impact.textContent = "Could not work out the impact."; });
    }, 1200);
  }

  var editor = null;
  var marked = [];

  function jumpTo(line, column) {
    if (!editor) return;
    if (yamlPanel && yamlPanel.hidden) show("yaml");
    editor.focus();
    editor.setCursor({line: line - 1, ch: Math.max((column || 1) - 1, 0)});
  }

  function check(text, updateLinting, options, cm) {
    post(textarea.dataset.checkUrl, JSON.stringify({yaml: text}), true)
      .then(function (response) {
        if (!response.ok) throw new Error(response.status === 401 ? "Your session has ended: sign in again."
                                                                 : "Could not check the rules (" + response.status + ").");
        return response.json();
      })
      .then(function (result) {
        var errors = result.errors || [];
        marked.forEach(function (handle) { cm.removeLineClass(handle, "background", "line-error"); });
        marked = [];
        var annotations = errors.filter(function (e) { return e.line; }).map(function (e) {
          var line = Math.min(e.line - 1, cm.lastLine());
          var from = Math.max((e.column || 1) - 1, 0);
          marked.push(cm.addLineClass(line, "background", "line-error"));
          return {from: CodeMirror.Pos(line, from), to: CodeMirror.Pos(line, cm.getLine(line).length),
                  message: (e.path ? e.path + ": " : "") + e.message, severity: "error"};
        });
        updateLinting(cm, annotations);
        showProblems(errors);
        showChanges(result.changes || [], !errors.length, text);
      })
      .catch(function (error) {
        problems.textContent = error.message.indexOf("Failed to fetch") === -1 ? error.message
                                                                               : "Could not reach the server.";
      });
  }

  if (textarea && window.CodeMirror) {
    editor = CodeMirror.fromTextArea(textarea, {
      mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2,
      extraKeys: {Tab: function (cm) { cm.replaceSelection("  "); }},
      gutters: ["CodeMirror-lint-markers", "CodeMirror-linenumbers"],
      lint: {getAnnotations: check, async: true, delay: 350}
    });
    window.rulesEditor = editor;
  }

  function currentYaml() { return editor ? editor.getValue() : textarea.value; }

  function panel(formId, targetId) {
    var form = document.getElementById(formId);
    var target = document.getElementById(targetId);
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      data.append("yaml", currentYaml());
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      target.textContent = "Working…";
      post(form.dataset.url, data, false)
        .then(function (response) { return response.text(); })
        .then(function (html) { target.innerHTML = html; })  /* server-rendered and escaped by Jinja */
        .catch(function () { target.textContent = "The request failed: is the server up?"; })
        .then(function () { button.disabled = false; });
    });
  }
  /* Builder and YAML: two views of the editor's text. The forms are drawn from the text on the server, and a
     form's values are written into it there (comments and order kept); the check, the changes and the impact
     then follow as for any edit. */
  var builder = document.getElementById("builder-panel");
  var yamlPanel = document.getElementById("yaml-panel");
  var tabs = {builder: document.getElementById("tab-builder"), yaml: document.getElementById("tab-yaml")};
  var drawnFor = null;

  function setEditor(text) { if (editor) editor.setValue(text); else textarea.value = text; }

  function show(view) {
    var yaml = view === "yaml";
    yamlPanel.hidden = !yaml;
    builder.hidden = yaml;
    tabs.yaml.setAttribute("aria-selected", String(yaml));
    tabs.builder.setAttribute("aria-selected", String(!yaml));
    if (yaml && editor) editor.refresh();
    if (!yaml && drawnFor !== currentYaml()) drawBuilder();
  }

  /* Which item a <details> shows, so the forms drawn again after an edit stay open where they were. */
  function itemKey(details) {
    var item = details.closest("li");
    return item ? JSON.stringify(item.dataset) : details.querySelector("summary strong").textContent;
  }

  function drawBuilder(keepOpen) {
    var text = currentYaml();
    var data = new FormData();
    data.append("yaml", text);
    var wasOpen = keepOpen ? Array.prototype.map.call(builder.querySelectorAll("details[open]"), itemKey) : [];
    return post(builder.dataset.url, data, false)
      .then(function (response) { return response.text(); })
      .then(function (html) {
        drawnFor = text;
        builder.innerHTML = html;  /* server-rendered and escaped by Jinja */
        Array.prototype.forEach.call(builder.querySelectorAll("details"), function (details) {
          if (wasOpen.indexOf(itemKey(details)) !== -1) details.open = true;
        });
        Array.prototype.forEach.call(builder.querySelectorAll("form.builder-form"), showWhen);
      })
      .catch(function () { builder.textContent = "Could not draw the forms: is the server up?"; });
  }

  /* Fields that only matter for one choice (a kind of award, what completes a card) show only with it:
     data-when="award=points award=amount" shows while the form's award is points or amount. */
  function showWhen(form) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-when]"), function (part) {
      part.hidden = !part.dataset.when.split(" ").some(function (condition) {
        var pair = condition.split("="), field = form.querySelector("[name=" + pair[0] + "]");
        return field && field.value === pair[1];
      });
    });
  }

  var problemCount = 0;

  function formProblems(form, result) {
    var status = form.querySelector(".form-status");
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (input) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    });
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (note) { note.remove(); });
    var said = [];
    Object.keys(result.fields || {}).forEach(function (name) {
      var input = form.querySelector("[name=" + name + "]");
      var label = input && input.closest("label") ? input.closest("label").firstChild.textContent.trim() : name;
      said.push(label + ": " + result.fields[name].join(", "));
      if (!input) return;
      /* What is wrong stands right under the field, and is read with it. */
      var note = document.createElement("span");
      note.className = "field-error error";
      note.id = "problem-" + (++problemCount);
      note.textContent = result.fields[name].join(", ");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", note.id);
      var group = input.type === "checkbox" && input.closest("[role=group]");
      if (group) group.appendChild(note); else input.insertAdjacentElement("afterend", note);
    });
    (result.errors || []).forEach(function (error) {
      said.push((error.path ? error.path + ": " : "") + error.message);
    });
    status.className = "form-status error";
    status.textContent = said.join(" · ");
    var first = form.querySelector("[aria-invalid]");
    if (first) first.focus();
  }

  if (builder) {
    builder.addEventListener("change", function (event) {
      if (event.target.tagName === "SELECT" && event.target.form) showWhen(event.target.form);
    });
    builder.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.classList.contains("builder-form")) return;
      event.preventDefault();
      var action = event.submitter && event.submitter.value === "remove" ? "remove" : "save";
      var data = new FormData(form);
      data.set("action", action);
      data.append("yaml", currentYaml());
      var status = form.querySelector(".form-status");
      status.className = "form-status";
      status.textContent = "Working…";
      post(builder.dataset.applyUrl, data, false)
        .then(function (response) { return response.json(); })
        .then(function (result) {
          if (result.yaml === undefined) { formProblems(form, result); return; }
          setEditor(result.yaml);
          var item = form.closest("li");
          var section = form.closest("section");
          var name = form.querySelector("[name=id]");
          var stillOpen = action === "save" && !(item && item.classList.contains("add"));
          return drawBuilder(stillOpen).then(function () {
            /* Say so where the marketer is looking: in the item just written, or atop its section. */
            var again = section && builder.querySelector("[data-testid=" + section.dataset.testid + "]");
            var target = again;
            if (action === "save" && again && name && again.dataset.item) {
              target = again.querySelector("li[data-" + again.dataset.item + "=\"" + CSS.escape(name.value) + "\"]") || again;
            } else if (action === "save" && again) {
              target = again.querySelector("form[data-section=" + form.dataset.section + "]") || again;
            }
            var note = document.createElement("p");
            note.className = "ok applied";
            note.setAttribute("role", "status");
            note.dataset.testid = "applied";
            note.textContent = (action === "remove" ? "Removed in the editor" : "Applied to the editor") +
              ": see what this changes on the right, then publish.";
            if (target) {
              target.appendChild(note);
              target.scrollIntoView({block: "nearest"});
            }
          });
        })
        .catch(function () { status.textContent = "The request failed: is the server up?"; });
    });
    tabs.builder.addEventListener("click", function () { show("builder"); });
    tabs.yaml.addEventListener("click", function () { show("yaml"); });
    show(location.hash === "#yaml" ? "yaml" : "builder");
  }

  panel("simulate-form", "simulation");
  panel("backtest-form", "backtest-result");
})();
