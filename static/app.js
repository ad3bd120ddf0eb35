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
