// The pages' one script. On the desk, number keys choose a label and the
// answer form is saved to the server as a draft a moment after the worker
// stops typing; on a project page, a batch file is sent with a progress
// bar. Everything works without it.
(function () {
  "use strict";
  var form = document.getElementById("answer");
  if (form) {
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target;
      if (t && (t.tagName === "INPUT" && t.type !== "radio" && t.type !== "checkbox" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
      var box = form.querySelector('input[data-key="' + e.key + '"]');
      if (!box) return;
      e.preventDefault();
      box.checked = box.type === "checkbox" ? !box.checked : true;
      box.focus();
      box.dispatchEvent(new Event("change", { bubbles: true }));
    });
    var draft = form.getAttribute("data-draft");
    var timer = null;
    var save = function () {
      timer = null;
      fetch(draft, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" }).catch(function () {});
    };
    var later = function () {
      if (!draft) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(save, 1500);
    };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    form.addEventListener("submit", function () { if (timer) clearTimeout(timer); });
  }
  var up = document.getElementById("upload");
  if (up && window.FormData) {
    up.addEventListener("submit", function (e) {
      var input = up.querySelector("input[type=file]");
      var file = input.files && input.files[0];
      if (!file) return;
      e.preventDefault();
      var bar = document.getElementById("upload-progress");
      var status = document.getElementById("upload-status");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", up.action + "&name=" + encodeURIComponent(file.name));
      xhr.setRequestHeader("Accept", "application/json");
      bar.hidden = false;
      bar.value = 0;
      status.textContent = up.getAttribute("data-sending");
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total);
      };
      xhr.onload = function () {
        if (xhr.status === 201) {
          location.href = up.getAttribute("data-project") + "?uploaded=1";
          return;
        }
        var detail = "HTTP " + xhr.status;
        try { detail = JSON.parse(xhr.responseText).detail || detail; } catch (err) {}
        bar.hidden = true;
        status.textContent = up.getAttribute("data-rejected").replace("{0}", detail);
      };
      xhr.onerror = function () {
        bar.hidden = true;
        status.textContent = up.getAttribute("data-rejected").replace("{0}", "—");
      };
      var body = new FormData();
      body.append("rows", file);
      xhr.send(body);
    });
  }
})();
