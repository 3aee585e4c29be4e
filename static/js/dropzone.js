/* Drop zones for file uploads: a file dragged onto an element marked `data-dropzone` fills its file
   input, as if browsed. Without JavaScript the plain file input still works. CSP-safe: no inline code;
   listeners are delegated on the document, so pages swapped in by htmx need nothing more. */
(function () {
  "use strict";

  function zoneOf(event) {
    var target = event.target;
    return target && target.closest ? target.closest("[data-dropzone]") : null;
  }

  function carriesFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }

  function showName(zone, input) {
    var status = zone.querySelector("[data-dropzone-status]");
    if (status && input.files && input.files.length) {
      status.textContent = (status.getAttribute("data-label") || "") + " " + input.files[0].name;
    }
  }

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = zoneOf(event);
      if (!zone || !carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("is-dragover");
    });
  });

  document.addEventListener("dragleave", function (event) {
    var zone = zoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("is-dragover");
  });

  document.addEventListener("drop", function (event) {
    var zone = zoneOf(event);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("is-dragover");
    var input = zone.querySelector("input[type=file]");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!input || !files || !files.length) return;
    var chosen = new DataTransfer();
    chosen.items.add(files[0]); // one file per upload, as the input takes
    input.files = chosen.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.type !== "file") return;
    var zone = input.closest("[data-dropzone]");
    if (zone) showName(zone, input);
  });
})();
