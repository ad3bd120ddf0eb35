// Small behaviours that plain HTML cannot do. htmx does the rest.
document.addEventListener("click", (event) => {
  const pick = event.target.closest("[data-picker] .pick");
  if (!pick) return;
  const picker = pick.closest("[data-picker]");
  picker.querySelector("input[type=hidden]").value = pick.dataset.id;
  picker.querySelector("input[type=search]").value = pick.dataset.name;
  picker.querySelector("#customer-options").innerHTML = "";
});

// Typing in a picker's search box makes the earlier choice stale: clear it until a suggestion is picked,
// so the form never saves for a customer the box no longer names.
document.addEventListener("input", (event) => {
  if (!event.target.matches("[data-picker] input[type=search]")) return;
  event.target.closest("[data-picker]").querySelector("input[type=hidden]").value = "";
});

// Advanced Search dialog: open/close, tabs, and picking a record (here or imported from the CRM).
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-open-dialog]");
  if (opener) document.getElementById(opener.dataset.openDialog).showModal();
  const closer = event.target.closest("[data-close-dialog]");
  if (closer) closer.closest("dialog").close();
  const tab = event.target.closest(".tabs [data-tab]");
  if (tab) {
    const dialog = tab.closest("dialog");
    dialog.querySelectorAll(".tabs [data-tab]").forEach((t) => t.setAttribute("aria-selected", t === tab));
    dialog.querySelectorAll("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== tab.dataset.tab; });
  }
  const pick = event.target.closest("#advanced-search .pick");
  if (pick) pickRecord(pick.dataset.id, pick.dataset.name);
});

function pickRecord(id, name) {
  const picker = document.querySelector("[data-picker]");
  if (picker) {
    picker.querySelector("input[type=hidden]").value = id;
    picker.querySelector("input[type=search]").value = name;
  }
  const select = document.querySelector("select[data-pick-target]");
  if (select) {
    if (!select.querySelector(`option[value="${CSS.escape(String(id))}"]`)) select.add(new Option(name, id));
    select.value = String(id);
  }
  const dialog = document.getElementById("advanced-search");
  if (dialog && dialog.open) dialog.close();
}

document.body.addEventListener("crm-record-picked", (event) => pickRecord(event.detail.id, event.detail.name));
