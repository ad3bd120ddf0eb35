// Small behaviours that plain HTML cannot do. htmx does the rest.
document.addEventListener("click", (event) => {
  const pick = event.target.closest("[data-picker] .pick");
  if (!pick) return;
  const picker = pick.closest("[data-picker]");
  picker.querySelector("input[type=hidden]").value = pick.dataset.id;
  picker.querySelector("input[type=search]").value = pick.dataset.name;
  picker.querySelector("#customer-options").innerHTML = "";
});
